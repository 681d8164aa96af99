/**
 * What the membership simulations measure against the ground truth: every 100 ms (or as
 * asked), each healthy node's `list controllers` answer compared with the truth, how long after
 * each change of truth the answers and the committed status stayed wrong, and the contract's
 * status accuracy (rows inside a change's convergence budget excused).
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
  isolatedSamples = 0;
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
      if (truth !== this.lastTruth.get(id)) {
        this.close(id);
        this.lastTruth.set(id, truth);
        this.changedAt.set(id, sim.now);
      }
    }
    // Every node that is itself healthy (and has been for a while) answers ctl correctly.
    for (const o of sim.ids) {
      if (sim.truth(o) !== 'online' || sim.now - (this.changedAt.get(o) ?? 0) < this.budgetMs) continue;
      for (const row of sim.rowsAt(o)) {
        this.samples++;
        const ok = row.online === (sim.truth(row.id) === 'online');
        if (sim.now - (this.changedAt.get(row.id) ?? 0) > this.budgetMs) {
          this.scored++;
          if (ok) this.scoredRight++;
        }
        if (ok) this.right++;
        else {
          this.lastWrongRow.set(row.id, sim.now);
          if (sim.now - (this.changedAt.get(row.id) ?? 0) > this.budgetMs) {
            this.problems.push(`t=${sim.now}: ${o} shows ${row.id} online=${row.online} (${row.basis}), truth ${sim.truth(row.id)} since ${this.changedAt.get(row.id)}`);
          }
        }
      }
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
