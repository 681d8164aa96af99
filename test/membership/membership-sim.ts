/**
 * A whole membership cluster on simulated time, for the simulation tests: every node runs the
 * product's MembershipEngine (real FailureDetector, ViewTable, Reconciler and view codec);
 * pings and pongs cross a network with per-message jitter, and faults (kill, SIGSTOP,
 * isolation, one-way and two-way link cuts, isolating the leader) are applied by the tests.
 * Leader election is modelled, not run: a leader that loses its quorum is replaced after an
 * election timeout plus a random delay, and keeps believing it leads until it hears from its
 * successor. Everything is driven by one seeded rng, so a seed replays a run exactly.
 */
import { seededRng, type Rng } from '../../src/util/rng.js';
import { defaultViewTtlMs, quorumOf, type MemberStatus, type StatusDecision } from '../../src/membership/index.js';
import { MembershipEngine, type MembershipContext } from '../../src/membership/membership-engine.js';

/** state_sync_interval in these simulations (the default is 5 s; shorter exercises more rounds). */
export const SYNC_INTERVAL_MS = 1000;

export interface SimOptions {
  readonly n: number;
  readonly seed: number;
  readonly baseTimeoutMs: number;
  readonly dynamic: boolean;
  readonly jitter: readonly [number, number];
  readonly electionTimeoutMs: number;
}

interface Msg {
  readonly kind: 'ping' | 'pong';
  readonly from: string;
  readonly to: string;
  readonly toIncarnation: number;
  readonly sentAt: number;
  readonly payload: Uint8Array;
}

/** A min-heap of timed callbacks; ties run in scheduling order. */
export class Agenda {
  private readonly heap: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;
  push(at: number, fn: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, fn });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (this.less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): { at: number; fn: () => void } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
  private less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

export class SimNode {
  /** The product's membership layer for one node, driven on simulated time. */
  engine: MembershipEngine;
  state: 'up' | 'down' | 'paused' = 'up';
  buffered: Msg[] = [];
  lastHeard = new Map<string, number>();
  /** The term this node believes it leads in, or null. */
  leaderTerm: number | null = null;
  offlineTransitions = 0;
  constructor(
    readonly id: string,
    public incarnation: number,
    sim: Sim,
  ) {
    this.engine = sim.newEngine(id, incarnation);
  }
}

export class Sim {
  readonly ids: string[];
  readonly nodes = new Map<string, SimNode>();
  readonly agenda = new Agenda();
  readonly rng: Rng;
  readonly pingIntervalMs: number;
  readonly viewTtlMs: number;
  readonly tickMs = 50;
  now = 0;
  leader: string;
  term = 1;
  private leaderLostAt: number | null = null;
  private electionDelay = 0;
  /** Directed cuts "a>b" with a count, so overlapping faults heal independently. */
  private readonly cuts = new Map<string, number>();
  /** Isolated nodes, with when their isolation began. */
  readonly isolated = new Map<string, number>();
  readonly committed = new Map<string, { status: MemberStatus; term: number }>();
  /** Decisions by a node that believed it led but could not commit (isolated old leader). */
  readonly orphanDecisions: { at: number; by: string; d: StatusDecision }[] = [];
  /** Ticks run by a node that believed it led while cut off from the quorum. */
  deposedLeaderTicks = 0;
  readonly leaderChanges: number[] = [];
  /** Corrections the reconcilers forwarded, and how many audit events they produced. */
  readonly corrections: { at: number; by: string; d: StatusDecision; truth: MemberStatus }[] = [];
  syncEvents = 0;
  /** Ping rounds sent by all nodes, regular and pushed. */
  pingRounds = 0;

  constructor(readonly o: SimOptions) {
    this.rng = seededRng(o.seed);
    this.ids = Array.from({ length: o.n }, (_, i) => `c${i + 1}`);
    this.pingIntervalMs = Math.min(500, Math.max(50, Math.round(o.baseTimeoutMs / 8)));
    this.viewTtlMs = defaultViewTtlMs(o.baseTimeoutMs, this.pingIntervalMs);
    for (const id of this.ids) {
      this.nodes.set(id, new SimNode(id, 1, this));
      this.committed.set(id, { status: 'online', term: 0 });
    }
    this.leader = this.ids[0]!;
    this.node(this.leader).leaderTerm = this.term;
    for (const id of this.ids) {
      const phase = this.rng.int(0, this.pingIntervalMs);
      this.every(phase, this.pingIntervalMs, () => this.pingRound(id));
      this.every(this.rng.int(0, this.tickMs), this.tickMs, () => this.tick(id));
      this.every(this.rng.int(0, SYNC_INTERVAL_MS), SYNC_INTERVAL_MS, () => this.sync(id));
    }
    this.every(0, 100, () => this.electionCheck());
  }

  newEngine(id: string, incarnation: number): MembershipEngine {
    const base = this.o.baseTimeoutMs;
    const detector = { baseTimeoutMs: base, dynamicAdjustment: this.o.dynamic, rttWindow: 16, minTimeoutMs: base, maxTimeoutMs: 4 * base };
    return new MembershipEngine({ self: id, incarnation, detector, pingIntervalMs: this.pingIntervalMs, viewTtlMs: this.viewTtlMs }, this.ids, this.now);
  }

  /** What the driver would read from the node's Raft host and state machine. */
  context(id: string): MembershipContext {
    const n = this.node(id);
    const leads = n.leaderTerm !== null;
    return {
      now: this.now,
      wallClockMs: this.now,
      members: this.ids.map((m) => ({ id: m, voter: true, committed: this.committed.get(m)?.status ?? null })),
      // A leader's "leader contact" is its last quorum contact (RaftHost.lastLeaderContactAt).
      lastLeaderContactAt: leads ? (this.canLead(id) ? this.now : null) : this.lastLeaderContact(id),
      electionTimeoutMs: this.o.electionTimeoutMs,
      leaderTerm: n.leaderTerm,
      appliedIndex: 0,
    };
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  at(time: number, fn: () => void): void {
    this.agenda.push(time, fn);
  }

  every(first: number, period: number, fn: () => void): void {
    const run = (): void => {
      fn();
      this.at(this.now + period, run);
    };
    this.at(first, run);
  }

  runUntil(end: number, onStep?: () => void): void {
    for (;;) {
      const e = this.agenda.pop();
      if (e === undefined || e.at > end) {
        if (e !== undefined) this.agenda.push(e.at, e.fn);
        this.now = end;
        return;
      }
      this.now = e.at;
      e.fn();
      onStep?.();
    }
  }

  // --- the network -------------------------------------------------------------------------

  cut(a: string, b: string, delta: number): void {
    const k = `${a}>${b}`;
    const v = (this.cuts.get(k) ?? 0) + delta;
    if (v <= 0) this.cuts.delete(k);
    else this.cuts.set(k, v);
  }

  linkUp(a: string, b: string): boolean {
    return !this.cuts.has(`${a}>${b}`);
  }

  /** Directed cuts touching `id`, isolation excluded. */
  badLinks(id: string): number {
    let n = 0;
    for (const k of this.cuts.keys()) if (k.startsWith(`${id}>`) || k.endsWith(`>${id}`)) n++;
    return n;
  }

  private running(id: string): boolean {
    return this.node(id).state === 'up';
  }

  private send(kind: Msg['kind'], from: string, to: string, sentAt: number, roundPayload?: Uint8Array): void {
    const src = this.node(from);
    if (!this.linkUp(from, to)) return;
    const payload = roundPayload ?? src.engine.viewPayload(this.context(from));
    const msg: Msg = { kind, from, to, toIncarnation: this.node(to).incarnation, sentAt, payload };
    const [lo, hi] = this.o.jitter;
    this.at(this.now + lo + this.rng.next() * (hi - lo), () => this.deliver(msg));
  }

  private deliver(m: Msg): void {
    const dst = this.node(m.to);
    if (dst.state === 'down' || dst.incarnation !== m.toIncarnation || !this.linkUp(m.from, m.to)) return;
    if (dst.state === 'paused') {
      dst.buffered.push(m);
      return;
    }
    this.handle(dst, m);
  }

  private handle(dst: SimNode, m: Msg): void {
    dst.engine.receiveView(m.from, m.payload, this.now);
    dst.lastHeard.set(m.from, this.now);
    if (m.kind === 'ping') this.send('pong', dst.id, m.from, m.sentAt);
    else dst.engine.recordRtt(m.from, this.now - m.sentAt, this.now);
  }

  /** Regular rounds, and pushes ahead of them (the driver's schedule: one payload per round). */
  private pingRound(id: string): void {
    if (!this.running(id)) return;
    this.pingRounds++;
    const payload = this.node(id).engine.roundPayload(this.context(id));
    for (const p of this.ids) if (p !== id) this.send('ping', id, p, this.now, payload);
  }

  // --- each node's timer ---------------------------------------------------------------------

  private tick(id: string): void {
    const n = this.node(id);
    if (n.state !== 'up') return;
    const transitions = n.engine.observe(this.now);
    n.offlineTransitions += transitions.filter((x) => x.to === 'offline').length;
    // The driver pushes its view at once when its own view changes, instead of waiting a round.
    if (n.engine.takePushRound(this.now)) this.pingRound(id);
    if (n.leaderTerm === null) return;
    // Worst case for the membership layer: no check-quorum. A deposed leader keeps believing it
    // leads (and keeps deciding) until it hears from its successor.
    const electedAt = this.leaderChanges.at(-1) ?? 0;
    if (id !== this.leader && (this.lastLeaderContact(id) ?? -1) > electedAt) n.leaderTerm = null;
    if (n.leaderTerm === null) return;
    if (id !== this.leader || !this.canLead(id)) this.deposedLeaderTicks++;
    const term = n.leaderTerm;
    const decisions = n.engine.lead(this.context(id));
    for (const d of decisions) {
      if (id === this.leader && this.canLead(id)) {
        // Committed one round trip later, fenced by term like the members state machine.
        this.at(this.now + 2 * this.o.jitter[1], () => {
          const c = this.committed.get(d.id);
          if (c !== undefined && term >= c.term) this.committed.set(d.id, { status: d.status, term });
        });
      } else {
        this.orphanDecisions.push({ at: this.now, by: id, d });
      }
    }
  }

  /** The reconciler's round: audit events, and corrections forwarded to the leader. */
  private sync(id: string): void {
    const n = this.node(id);
    if (n.state !== 'up') return;
    const out = n.engine.sync(this.context(id));
    this.syncEvents += out.events.length;
    for (const d of out.corrections) {
      this.corrections.push({ at: this.now, by: id, d, truth: this.truth(d.id) });
      const leader = this.node(this.leader);
      // Forwarded over a working link to a leader that can commit; the leader judges it.
      if (!this.linkUp(id, this.leader) || leader.leaderTerm === null || !this.canLead(this.leader)) continue;
      if (!leader.engine.acceptCorrection(d, this.context(this.leader))) continue;
      const term = leader.leaderTerm;
      this.at(this.now + 2 * this.o.jitter[1], () => {
        const c = this.committed.get(d.id);
        if (c !== undefined && term >= c.term) this.committed.set(d.id, { status: d.status, term });
      });
    }
  }

  rowsAt(id: string) {
    const ctx = this.context(id);
    const n = this.node(id);
    const stale = n.engine.stale(ctx);
    return n.engine.rows(ctx).map((r) => ({ ...r, stale }));
  }

  lastLeaderContact(id: string): number | null {
    return this.node(id).lastHeard.get(this.leader) ?? null;
  }

  stale(id: string): boolean {
    return this.node(id).engine.stale(this.context(id));
  }

  // --- elections (modelled) ------------------------------------------------------------------

  /** Running, and two-way links to enough running peers for a quorum. */
  canLead(id: string): boolean {
    if (!this.running(id)) return false;
    const reach = this.ids.filter((p) => p !== id && this.running(p) && this.linkUp(id, p) && this.linkUp(p, id)).length;
    return reach + 1 >= quorumOf(this.ids.length);
  }

  private electionCheck(): void {
    if (this.canLead(this.leader)) {
      this.leaderLostAt = null;
      return;
    }
    if (this.leaderLostAt === null) {
      this.leaderLostAt = this.now;
      this.electionDelay = this.o.electionTimeoutMs + this.rng.int(0, this.o.electionTimeoutMs);
      return;
    }
    if (this.now - this.leaderLostAt < this.electionDelay) return;
    const candidates = this.ids.filter((id) => this.canLead(id));
    if (candidates.length === 0) return;
    this.leader = candidates[this.rng.int(0, candidates.length)]!;
    this.term++;
    this.node(this.leader).leaderTerm = this.term;
    this.leaderLostAt = null;
    this.leaderChanges.push(this.now);
  }

  // --- faults ----------------------------------------------------------------------------------

  isolate(id: string, on: boolean): void {
    if (on) this.isolated.set(id, this.now);
    else this.isolated.delete(id);
    for (const p of this.ids) {
      if (p === id) continue;
      this.cut(id, p, on ? 1 : -1);
      this.cut(p, id, on ? 1 : -1);
    }
  }

  kill(id: string): void {
    const n = this.node(id);
    n.state = 'down';
    n.buffered = [];
    n.leaderTerm = null;
  }

  restart(id: string): void {
    const old = this.node(id);
    this.nodes.set(id, new SimNode(id, old.incarnation + 1, this));
  }

  pause(id: string): void {
    this.node(id).state = 'paused';
  }

  resume(id: string): void {
    const n = this.node(id);
    n.state = 'up';
    // On SIGCONT Node runs its expired timers before it reads the queued sockets.
    this.tick(id);
    for (const m of n.buffered.splice(0)) this.handle(n, m);
  }

  /**
   * Whether, with `down` also failed and `cuts` also cut, every healthy node would still have
   * two-way links to a quorum of healthy nodes. Fault schedules stay within this, so that the
   * ground truth (healthy = online) is what a working cluster can know.
   */
  viableWith(down: string | null, cuts: readonly string[]): boolean {
    const healthy = this.ids.filter((id) => id !== down && this.truth(id) === 'online');
    const up = (a: string, b: string): boolean => this.linkUp(a, b) && !cuts.includes(`${a}>${b}`);
    return healthy.every((a) => healthy.filter((b) => b !== a && up(a, b) && up(b, a)).length + 1 >= quorumOf(this.ids.length));
  }

  truth(id: string): MemberStatus {
    return this.node(id).state === 'up' && !this.isolated.has(id) ? 'online' : 'offline';
  }
}

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
        if (row.online === (sim.truth(row.id) === 'online')) this.right++;
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
