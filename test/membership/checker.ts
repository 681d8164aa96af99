/**
 * What the membership simulations measure against the ground truth (Sim.truth, the definition
 * of online): every 100 ms (or as asked), each healthy node's `list controllers` answer
 * compared with the truth, how long after each change of truth the answers and the committed
 * status stayed wrong, and the contract's status accuracy (rows inside a change's convergence
 * budget excused). Answers of a node that says it is stale are left out, as everywhere; two
 * non-stale nodes whose answers about a member differ outside the convergence window are a
 * contradiction. The same rows are also scored by the other candidate rule for `online`, the
 * committed state (`clusterState`), so the two can be compared on the same runs.
 */
import type { MemberStatus } from '../../src/membership/index.js';
import type { Sim } from './membership-sim.js';

/** Samples every 100 ms; measures how long after each truth change the answers stayed wrong. */
export class Checker {
  private readonly changedAt = new Map<string, number>();
  private readonly lastTruth = new Map<string, MemberStatus>();
  private readonly lastWrongRow = new Map<string, number>();
  private readonly lastWrongCommit = new Map<string, number>();
  readonly rowConvergence: number[] = [];
  /** The same, per change: which member, which way, how long until every healthy node showed it. */
  readonly rowChanges: { readonly id: string; readonly to: MemberStatus; readonly at: number; readonly ms: number }[] = [];
  readonly commitConvergence: number[] = [];
  samples = 0;
  right = 0;
  /**
   * The contract's status accuracy (docs/fault-injection.md): rows about a member whose truth
   * changed less than the convergence budget ago are excused; these count the others.
   */
  scored = 0;
  scoredRight = 0;
  /** The scored rows that were wrong, by which way: online while the truth was offline, and the reverse. */
  falseOnline = 0;
  falseOffline = 0;
  isolatedSamples = 0;
  /** Answers left out because their node said it was stale. */
  staleAnswers = 0;
  /** Pairs of non-stale nodes answering differently about a member outside the convergence window. */
  contradictions = 0;
  readonly contradictionSamples: string[] = [];
  /** The committed-state rule (online = clusterState) scored on the same rows. */
  readonly committedRule = { scored: 0, right: 0, convergence: [] as number[] };
  private readonly lastWrongCommittedRow = new Map<string, number>();
  /** When each node last changed its stale flag: a node that just became current is still catching up. */
  private readonly staleSince = new Map<string, { stale: boolean; at: number }>();
  readonly problems: string[] = [];

  constructor(
    private readonly sim: Sim,
    private readonly budgetMs: number,
    private readonly commitBudgetMs: number,
    /** Cluster start-up: no leader yet, every node stale. */
    private readonly warmupMs = 5000,
  ) {
    for (const id of sim.ids) {
      this.changedAt.set(id, 0);
      this.lastTruth.set(id, 'online');
    }
  }

  sample(): void {
    const sim = this.sim;
    if (sim.now < this.warmupMs) return;
    for (const id of sim.ids) {
      const truth = sim.truth(id);
      // A change the samples missed: the truth flipped and flipped back between two of them (a
      // heal 48 ms before a kill). Answers that followed the brief change are not wrong for
      // the 9 s since the one before it (7 nodes, base 500 ms, seed 31).
      const blip = truth === this.lastTruth.get(id) && sim.truthSince(id) > (this.changedAt.get(id) ?? 0);
      if (truth !== this.lastTruth.get(id) || blip) {
        this.close(id);
        this.lastTruth.set(id, truth);
        this.changedAt.set(id, sim.now);
      }
    }
    // Every node that is itself healthy (and has been for a while) answers ctl correctly,
    // unless it says it is stale.
    const answers = new Map<string, { readonly by: string; readonly online: boolean }[]>();
    for (const o of sim.ids) {
      if (sim.truth(o) !== 'online' || sim.now - (this.changedAt.get(o) ?? 0) < this.budgetMs) continue;
      const rows = sim.rowsAt(o);
      const stale = rows[0]?.stale ?? true;
      const flag = this.staleSince.get(o);
      if (flag === undefined || flag.stale !== stale) this.staleSince.set(o, { stale, at: sim.now });
      if (stale) {
        this.staleAnswers += rows.length;
        continue;
      }
      const settled = sim.now - (this.staleSince.get(o)?.at ?? 0) > this.budgetMs;
      for (const row of rows) {
        this.samples++;
        const truth = sim.truth(row.id) === 'online';
        const ok = row.online === truth;
        const outside = sim.now - (this.changedAt.get(row.id) ?? 0) > this.budgetMs;
        if (outside) {
          this.scored++;
          if (ok) this.scoredRight++;
          else if (row.online) this.falseOnline++;
          else this.falseOffline++;
          this.committedRule.scored++;
          if ((row.clusterState === 'online') === truth) this.committedRule.right++;
          if (settled) answers.set(row.id, [...(answers.get(row.id) ?? []), { by: o, online: row.online }]);
        }
        if ((row.clusterState === 'online') !== truth) this.lastWrongCommittedRow.set(row.id, sim.now);
        if (ok) this.right++;
        else {
          this.lastWrongRow.set(row.id, sim.now);
          if (outside) {
            this.problems.push(`t=${sim.now}: ${o} shows ${row.id} online=${row.online} (${row.basis}), truth ${sim.truth(row.id)} since ${this.changedAt.get(row.id)}`);
          }
        }
      }
    }
    for (const [id, said] of answers) {
      const on = said.filter((a) => a.online).map((a) => a.by);
      const off = said.filter((a) => !a.online).map((a) => a.by);
      if (on.length === 0 || off.length === 0) continue;
      this.contradictions++;
      if (this.contradictionSamples.length < 10) this.contradictionSamples.push(`t=${sim.now}: ${id} online at ${on.join(',')}, offline at ${off.join(',')}`);
    }
    // A running node cut off from everyone must not present itself as online, and says stale.
    for (const [o, since] of sim.isolated) {
      if (sim.node(o).state !== 'up' || sim.now - since <= this.budgetMs) continue;
      const self = sim.rowsAt(o).find((r) => r.id === o);
      this.isolatedSamples++;
      if (self?.online !== false || !self.stale) this.problems.push(`t=${sim.now}: isolated ${o} shows itself online=${self?.online} stale=${self?.stale}`);
    }
    for (const id of sim.ids) {
      if (sim.committed.get(id)?.status === sim.truth(id)) continue;
      this.lastWrongCommit.set(id, sim.now);
      if (sim.now - (this.changedAt.get(id) ?? 0) > this.commitBudgetMs) {
        this.problems.push(`t=${sim.now}: committed ${id} ${sim.committed.get(id)?.status}, truth ${sim.truth(id)} since ${this.changedAt.get(id)}`);
      }
    }
  }

  finish(): void {
    for (const id of this.sim.ids) this.close(id);
  }

  private close(id: string): void {
    const since = this.changedAt.get(id) ?? 0;
    if (since === 0) return;
    const ms = Math.max(0, (this.lastWrongRow.get(id) ?? since) - since);
    this.rowConvergence.push(ms);
    this.rowChanges.push({ id, to: this.lastTruth.get(id) ?? 'online', at: since, ms });
    this.commitConvergence.push(Math.max(0, (this.lastWrongCommit.get(id) ?? since) - since));
    this.committedRule.convergence.push(Math.max(0, (this.lastWrongCommittedRow.get(id) ?? since) - since));
  }
}

export const max = (xs: readonly number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);

/** The p-th percentile (nearest rank) of `xs`; 0 for none. */
export const percentile = (xs: readonly number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

export function runWithSampling(sim: Sim, checker: Checker, endMs: number, everyMs = 100): void {
  let nextSample = 0;
  sim.runUntil(endMs, () => {
    while (sim.now >= nextSample) {
      checker.sample();
      nextSample += everyMs;
    }
  });
  checker.finish();
}
