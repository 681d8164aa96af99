/**
 * A whole membership cluster on simulated time, for the simulation tests: every node runs the
 * production MembershipDriver (src/node/membership-driver.ts: its ping, observe, push, lead
 * and sync schedule, on the engine with the real FailureDetector, ViewTable, Reconciler and
 * view codec), on a SimProcess of test/sim/sim-time.ts, with the heartbeat settings the config
 * derives from base_timeout (src/config/defaults.ts). Pings and pongs cross a network with
 * per-message jitter; faults (kill, SIGSTOP, isolation, one-way and two-way link cuts,
 * isolating the leader) are applied by the tests. Raft is modelled, not run: a leader that
 * loses its quorum is replaced after an election timeout plus a random delay, and keeps
 * believing it leads until it hears from its successor; a committed decision lands one round
 * trip after the leader proposed it, and each follower applies it when the leader's next
 * heartbeat reaches it (one cut off from the leader keeps what it last applied). Everything is
 * driven by seeded rngs, so a seed replays a run exactly.
 */
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { DEFAULTS, defaultHeartbeatIntervalMs, defaultMaxTimeoutMs, defaultMinTimeoutMs } from '../../src/config/defaults.js';
import type { HeartbeatConfig } from '../../src/config/index.js';
import { quorumOf, type MemberStatus, type StatusDecision } from '../../src/membership/index.js';
import { createMembershipNode } from '../../src/node/membership-driver.js';
import type { MemberRow } from '../../src/membership/membership-engine.js';
import type { MembershipNode, MembershipPort } from '../../src/node/membership-port.js';
import type { NodeStatus } from '../../src/raft/index.js';
import type { ApplyResult, MemberRecord } from '../../src/statemachine/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { SimFuture } from '../sim/sim-future.js';
import { SimProcess, SimWorld } from '../sim/sim-time.js';
import { AnsweredByOtherError, DialFailedError, TransportError } from '../../src/transport/errors.js';
import { REFUSAL_METADATA_KEY } from '../../src/identity/index.js';
import { misdirectedStatus, notAddresseeOf } from '../../src/transport/not-addressee.js';
import { failedPingError } from '../../src/transport/ping-failure.js';

/** state_sync_interval in these simulations (the default is 5 s; shorter exercises more rounds). */
export const SYNC_INTERVAL_MS = 1000;

/**
 * How a node's dials to a peer fail (Sim.dialFail): no connection opens, or another process
 * answers at the peer's address: one whose pong the node refuses for its identity, or one that
 * refuses the ping as another member ('misdirected') or another cluster's node ('other-cluster').
 */
export type DialFault = 'no-connection' | 'another-process' | 'misdirected' | 'other-cluster';

export interface SimOptions {
  readonly n: number;
  readonly seed: number;
  readonly baseTimeoutMs: number;
  readonly dynamic: boolean;
  readonly jitter: readonly [number, number];
  readonly electionTimeoutMs: number;
}


/** The heartbeat settings a cluster file with only `base_timeout` resolves to. */
export function heartbeatFor(baseTimeoutMs: number, dynamicAdjustment: boolean): HeartbeatConfig {
  return {
    baseTimeoutMs,
    dynamicAdjustment,
    rttWindow: DEFAULTS.rttWindow,
    minTimeoutMs: defaultMinTimeoutMs(baseTimeoutMs),
    maxTimeoutMs: defaultMaxTimeoutMs(baseTimeoutMs),
    intervalMs: defaultHeartbeatIntervalMs(baseTimeoutMs),
  };
}

/** One controller process (an incarnation): its time, its driver, and what the model knows of it. */
export class SimNode {
  state: 'up' | 'down' | 'paused' = 'up';
  /** When this node last heard from each peer (a ping or a pong). */
  readonly lastHeard = new Map<string, number>();
  /** The leader and term this node believes in; itself when it believes it leads. */
  believedLeader: string | null = null;
  believedTerm = 0;
  offlineTransitions = 0;
  /**
   * Until when its applied membership is empty: a member removed and added again starts with an
   * empty data dir and knows no member until it has replayed the log (0: it never did).
   */
  readonly replayingUntil: number;
  readonly proc: SimProcess;
  readonly driver: MembershipNode;

  constructor(
    readonly id: string,
    readonly incarnation: number,
    sim: Sim,
    replayMs = 0,
  ) {
    this.replayingUntil = replayMs > 0 ? sim.now + replayMs : 0;
    this.proc = new SimProcess(sim.world);
    this.driver = createMembershipNode(sim.port(this), {
      heartbeat: sim.heartbeat,
      stateSyncIntervalMs: SYNC_INTERVAL_MS,
      scheduler: this.proc,
      incarnation: sim.rng.int(1, 2 ** 31),
    });
  }

  /** The term this node believes it leads in, or null. */
  get leaderTerm(): number | null {
    return this.believedLeader === this.id ? this.believedTerm : null;
  }
}

export class Sim {
  readonly ids: string[];
  readonly nodes = new Map<string, SimNode>();
  readonly world = new SimWorld();
  readonly rng: Rng;
  readonly heartbeat: HeartbeatConfig;
  leader: string;
  term = 1;
  private leaderLostAt: number | null = null;
  private electionDelay = 0;
  /** Directed cuts "a>b" with a count, so overlapping faults heal independently. */
  private readonly cuts = new Map<string, number>();
  /**
   * Directed dial failures "a>b": a cannot open a connection to b (b listens where a does not
   * dial, or a firewall refuses new connections to b: 'no-connection'), or what answers at b's
   * address is another process whose pong a refuses for its identity ('another-process': a copy
   * of b's data dir, another data dir, another cluster), or that refuses a's ping ('misdirected',
   * 'other-cluster'), while b's own connections to a work, so b's pings reach a and a's pongs ride
   * back on them. Not a cut: messages flow both ways.
   */
  private readonly dialFailures = new Map<string, DialFault>();
  /** Isolated nodes, with when their isolation began. */
  readonly isolated = new Map<string, number>();
  readonly committed = new Map<string, { status: MemberStatus; term: number }>();
  /** What each node has applied of `committed`, kept across its restarts (its log is durable). */
  private readonly applied = new Map<string, Map<string, { status: MemberStatus; term: number }>>();
  /** Its own stream, so that modelling replication left every fault schedule as it was. */
  private readonly replicationRng: Rng;
  /** Decisions by a node that believed it led but could not commit (isolated old leader), with the truth when each was made and since when it held. */
  readonly orphanDecisions: { at: number; by: string; d: StatusDecision; truth: MemberStatus; truthSince: number }[] = [];
  /** Each member's truth (Sim.truth) as of the last fault, and since when it has held. */
  private readonly truthLog = new Map<string, { status: MemberStatus; since: number }>();
  /** 50 ms samples of a node that believed it led while it was deposed or cut off from the quorum. */
  deposedLeaderTicks = 0;
  readonly leaderChanges: number[] = [];
  /** What the drivers logged at warn level or above, each line's node and message. */
  readonly warnings: { readonly node: string; readonly msg: string }[] = [];
  private readonly logger = pino({ level: 'warn', base: null, timestamp: false }, { write: (line: string) => void this.warnings.push(JSON.parse(line) as { node: string; msg: string }) });
  /** Corrections the reconcilers forwarded, and how many audit events they produced. */
  readonly corrections: { at: number; by: string; d: StatusDecision; truth: MemberStatus; truthSince: number }[] = [];
  syncEvents = 0;
  /** Pings sent by all nodes, regular rounds and pushed ones. */
  pings = 0;

  constructor(readonly o: SimOptions) {
    this.rng = seededRng(o.seed);
    this.heartbeat = heartbeatFor(o.baseTimeoutMs, o.dynamic);
    this.ids = Array.from({ length: o.n }, (_, i) => `c${i + 1}`);
    for (const id of this.ids) this.committed.set(id, { status: 'online', term: 0 });
    for (const id of this.ids) this.applied.set(id, new Map(this.ids.map((m) => [m, { status: 'online', term: 0 }])));
    for (const id of this.ids) this.truthLog.set(id, { status: 'online', since: 0 });
    this.replicationRng = seededRng(o.seed * 7919 + 1);
    this.leader = this.ids[0]!;
    // Processes start at different instants, so their timers are out of phase.
    for (const id of this.ids) this.at(this.rng.int(0, this.heartbeat.intervalMs), () => this.start(id, 1));
    this.every(0, 100, () => this.electionCheck());
    this.every(25, 50, () => this.sampleDeposed());
    this.every(10, 50, () => this.replicate());
  }

  get now(): number {
    return this.world.now;
  }

  /** Ping rounds: every round pings each peer once. */
  get pingRounds(): number {
    return this.pings / (this.o.n - 1);
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id} (yet)`);
    return n;
  }

  at(time: number, fn: () => void): void {
    this.world.at(Math.max(time, this.now), fn);
  }

  every(first: number, period: number, fn: () => void): void {
    const run = (): void => {
      fn();
      this.at(this.now + period, run);
    };
    this.at(first, run);
  }

  runUntil(end: number, onStep?: () => void): void {
    this.world.afterEvent = onStep ?? null;
    this.world.runUntil(end);
  }

  private start(id: string, incarnation: number, replayMs = 0): void {
    const n = new SimNode(id, incarnation, this, replayMs);
    this.nodes.set(id, n);
    n.driver.start();
    // The first leader is known from the start; a restarted node learns it from its messages.
    if (incarnation === 1) this.learnLeader(n, this.leader, this.term);
  }

  private learnLeader(n: SimNode, leader: string, term: number): void {
    if (n.believedLeader === leader && n.believedTerm === term) return;
    n.believedLeader = leader;
    n.believedTerm = term;
    n.driver.onLeaderChange(leader, term);
  }

  // --- what a node's driver reads and calls (the rest of the controller, modelled) -----------

  port(n: SimNode): MembershipPort {
    const id = n.id;
    return {
      self: id,
      electionTimeoutMs: this.o.electionTimeoutMs,
      logger: this.logger.child({ node: id }),
      members: () => (this.now < n.replayingUntil ? [] : this.ids.map((m) => this.record(m, id))),
      raftStatus: () => this.raftStatus(n),
      // A leader's "leader contact" is its last quorum contact (RaftHost.lastLeaderContactAt).
      lastLeaderContactAt: () => (n.leaderTerm !== null ? (this.canLead(id) ? this.now : null) : (n.lastHeard.get(this.leader) ?? null)),
      propose: (d, _observedAt, term) => this.propose(n, d, term),
      forwardCorrection: (d) => this.forwardCorrection(n, d),
      ping: (peer, payload, deadlineMs) => this.ping(n, peer, payload, deadlineMs),
      audit: (e) => {
        if (e.type !== 'member.status') this.syncEvents++;
      },
      onRtt: () => undefined,
      onLocalTransition: (tr) => {
        if (tr.to === 'offline') n.offlineTransitions++;
      },
    };
  }

  private record(id: string, at: string): MemberRecord {
    const c = this.applied.get(at)?.get(id) ?? { status: 'online', term: 0 };
    return { id, address: `${id}.sim:7001`, role: 'voter', status: c.status, statusSince: 0, statusReason: '', statusTerm: c.term, statusObservedAt: 0, autoPromote: false, incarnation: '' };
  }

  private raftStatus(n: SimNode): NodeStatus {
    const leads = n.leaderTerm !== null;
    return {
      id: n.id,
      term: n.believedTerm,
      vote: null,
      leader: n.believedLeader,
      role: leads ? 'leader' : 'follower',
      commit: 0,
      applied: 0,
      lastIndex: 0,
      firstIndex: 1,
      conf: { voters: this.ids, learners: [] },
      progress: new Map(),
      leadTransferee: null,
    };
  }

  /** Committed one round trip later if the proposer leads and reaches a quorum, fenced by term. */
  private propose(n: SimNode, d: StatusDecision, term: number): SimFuture<ApplyResult> {
    const done = new SimFuture<ApplyResult>();
    if (n.id !== this.leader || !this.canLead(n.id)) {
      this.orphanDecisions.push({ at: this.now, by: n.id, d, truth: this.truth(d.id), truthSince: this.truthSince(d.id) });
      return done; // never committed: the proposer gives up at its own deadline (not modelled)
    }
    this.at(this.now + 2 * this.o.jitter[1], () => {
      const c = this.committed.get(d.id);
      if (c !== undefined && term >= c.term) {
        this.committed.set(d.id, { status: d.status, term });
        this.applied.get(n.id)?.set(d.id, { status: d.status, term });
      }
      done.resolve({ ok: true, revision: 0 });
    });
    return done;
  }

  /**
   * Every 50 ms (a heartbeat): the leader's commits reach each running follower it has a link to,
   * after the network's jitter, if the link still holds then.
   */
  private replicate(): void {
    const leader = this.leader;
    if (!this.running(leader)) return;
    for (const id of this.ids) {
      if (id === leader || !this.running(id) || !this.canSend(leader, id)) continue;
      const mine = this.applied.get(id)!;
      const news = [...this.committed].filter(([m, c]) => mine.get(m)?.term !== c.term || mine.get(m)?.status !== c.status);
      if (news.length === 0) continue;
      const [lo, hi] = this.o.jitter;
      this.at(this.now + lo + this.replicationRng.next() * (hi - lo), () => {
        if (!this.running(id) || !this.canSend(leader, id)) return;
        for (const [m, c] of news) if (c.term >= (mine.get(m)?.term ?? 0)) mine.set(m, { ...c });
      });
    }
  }

  /** A follower's reconciler forwards a correction to the leader, whose driver judges it. */
  private forwardCorrection(n: SimNode, d: StatusDecision): SimFuture<boolean> {
    const done = new SimFuture<boolean>();
    this.corrections.push({ at: this.now, by: n.id, d, truth: this.truth(d.id), truthSince: this.truthSince(d.id) });
    const leader = this.nodes.get(this.leader);
    if (!this.canSend(n.id, this.leader) || leader === undefined || leader.state !== 'up' || leader.leaderTerm === null || !this.canLead(this.leader)) {
      done.resolve(false);
      return done;
    }
    void leader.driver.reportStatus(d.id, d.status, d.reason, n.id);
    done.resolve(true);
    return done;
  }

  /**
   * A ping to `peer` and its pong, each across the jittered network; fails at the deadline, or
   * after a round trip's worth of jitter (a refused connection) when `n` cannot dial `peer`.
   */
  private ping(n: SimNode, peer: string, payload: Uint8Array, deadlineMs: number): SimFuture<{ rttMs: number; payload: Uint8Array }> {
    this.pings++;
    const done = new SimFuture<{ rttMs: number; payload: Uint8Array }>();
    const sentAt = this.now;
    const fault = this.dialFailures.get(`${n.id}>${peer}`);
    if (fault !== undefined) {
      const [lo, hi] = this.o.jitter;
      const address = `${peer}.sim:7001`;
      const err =
        fault === 'no-connection'
          ? new DialFailedError(peer, address, 'UNAVAILABLE: connect ECONNREFUSED')
          : fault === 'another-process'
            ? new AnsweredByOtherError(peer, address, `refused the pong: DUPLICATE_PROCESS: another process speaks as ${peer}`, 'DUPLICATE_PROCESS')
            : this.refusedPing(n.id, peer, address, fault);
      n.proc.post(2 * (lo + this.rng.next() * (hi - lo)), () => done.reject(err));
      return done;
    }
    // On a connection it could open: an RPC failure, not a dial failure (peer-link.ts pingError).
    n.proc.post(deadlineMs, () => done.reject(new TransportError('RPC_FAILED', `ping ${peer}: DEADLINE_EXCEEDED`)));
    const dst = this.nodes.get(peer);
    if (dst === undefined || !this.linkUp(n.id, peer)) return done;
    this.deliver(n.id, dst, () => {
      let pong: Uint8Array;
      try {
        pong = dst.driver.onHeartbeat(n.id, payload);
      } catch {
        return;
      }
      this.deliver(peer, n, () => {
        if (this.now - sentAt <= deadlineMs) done.resolve({ rttMs: this.now - sentAt, payload: pong });
      });
    });
    return done;
  }

  /**
   * The error a ping of `from` to `peer` fails with when the process at `peer`'s address refuses
   * it: the status that process answers, with its trailers, as the production transport reads it
   * (peer-service.ts marks it, peer-link.ts reads it through the same functions).
   */
  private refusedPing(from: string, peer: string, address: string, fault: 'misdirected' | 'other-cluster'): TransportError {
    let status: { code: grpc.status; details: string; metadata: grpc.Metadata };
    if (fault === 'misdirected') {
      // Another member of the cluster listens at the address.
      status = misdirectedStatus(this.ids.find((id) => id !== from && id !== peer)!, peer);
    } else {
      const metadata = new grpc.Metadata();
      metadata.set(REFUSAL_METADATA_KEY, 'CLUSTER_ID');
      const details = `CLUSTER_ID: cluster id mismatch: ${peer} belongs to cluster 00000000000000bb, ${from} to cluster 00000000000000aa (same name, another cluster)`;
      status = { code: grpc.status.PERMISSION_DENIED, details, metadata };
    }
    return failedPingError(peer, address, { code: status.code, details: status.details, notAddressee: notAddresseeOf(status, peer) }, true);
  }

  /** Carries a message from `from` to `to` after a jitter, as an event of `to`'s process. */
  private deliver(from: string, to: SimNode, handle: () => void): void {
    const [lo, hi] = this.o.jitter;
    this.at(this.now + lo + this.rng.next() * (hi - lo) + (this.slowLinks.get(`${from}>${to.id}`) ?? 0), () => {
      if (!this.linkUp(from, to.id)) return;
      to.proc.dispatch(() => {
        to.lastHeard.set(from, this.now);
        // Hearing from the leader is how a node learns who leads (a deposed one, that it does not).
        if (from === this.leader) this.learnLeader(to, this.leader, this.term);
        handle();
      });
    });
  }

  // --- the network -------------------------------------------------------------------------

  /**
   * Directed links "a>b" whose messages take this much longer than the jitter (a lossy link, over
   * which TCP delivers what it had to resend late; a queue filling up): slow, not cut, so the
   * truth is unchanged.
   */
  private readonly slowLinks = new Map<string, number>();

  /** Adds `extraMs` to every message from `from` to `to` (0: heals it). */
  slow(from: string, to: string, extraMs: number): void {
    if (extraMs > 0) this.slowLinks.set(`${from}>${to}`, extraMs);
    else this.slowLinks.delete(`${from}>${to}`);
  }

  cut(a: string, b: string, delta: number): void {
    const k = `${a}>${b}`;
    const v = (this.cuts.get(k) ?? 0) + delta;
    if (v <= 0) this.cuts.delete(k);
    else this.cuts.set(k, v);
    this.trackTruth();
  }

  /** Since when `id`'s truth has held (the last fault that changed it; 0 from the start). */
  truthSince(id: string): number {
    return this.truthLog.get(id)?.since ?? 0;
  }

  private trackTruth(): void {
    for (const id of this.ids) {
      if (!this.nodes.has(id)) continue;
      const status = this.truth(id);
      if (this.truthLog.get(id)?.status !== status) this.truthLog.set(id, { status, since: this.now });
    }
  }

  linkUp(a: string, b: string): boolean {
    return !this.cuts.has(`${a}>${b}`);
  }

  /** Whether `a` can open a connection to `b` (see dialFailures). */
  canDial(a: string, b: string): boolean {
    return !this.dialFailures.has(`${a}>${b}`);
  }

  /** `a` can send to `b` on a connection of its own (Raft's appends, a forwarded correction). */
  private canSend(a: string, b: string): boolean {
    return this.linkUp(a, b) && this.canDial(a, b);
  }

  /** Makes (on) or heals every dial from `from` to `to` fail, one way only, in the way `how` says (see dialFailures). */
  dialFail(from: readonly string[], to: readonly string[], on: boolean, how: DialFault = 'no-connection'): void {
    for (const a of from) {
      for (const b of to) {
        if (a === b) continue;
        if (on) this.dialFailures.set(`${a}>${b}`, how);
        else this.dialFailures.delete(`${a}>${b}`);
      }
    }
    this.trackTruth();
  }

  /** Directed cuts touching `id`, isolation excluded. */
  badLinks(id: string): number {
    let n = 0;
    for (const k of this.cuts.keys()) if (k.startsWith(`${id}>`) || k.endsWith(`>${id}`)) n++;
    return n;
  }

  private running(id: string): boolean {
    return this.nodes.get(id)?.state === 'up';
  }

  rowsAt(id: string): ReadonlyArray<MemberRow & { readonly stale: boolean }> {
    const view = this.node(id).driver.listControllers();
    return view.rows.map((r) => ({ ...r, stale: view.stale }));
  }

  stale(id: string): boolean {
    return this.node(id).driver.listControllers().stale;
  }

  lastLeaderContact(id: string): number | null {
    return this.node(id).lastHeard.get(this.leader) ?? null;
  }

  // --- elections (modelled) ------------------------------------------------------------------

  /** Running, and two-way links to enough running peers for a quorum. */
  canLead(id: string): boolean {
    if (!this.running(id)) return false;
    const reach = this.ids.filter((p) => p !== id && this.running(p) && this.canSend(id, p) && this.linkUp(p, id)).length;
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
    // A Raft leader holds every committed entry and applies them once its term's first commits.
    const mine = this.applied.get(this.leader)!;
    for (const [m, c] of this.committed) mine.set(m, { ...c });
    this.leaderLostAt = null;
    this.leaderChanges.push(this.now);
    this.learnLeader(this.node(this.leader), this.leader, this.term);
  }

  /** Worst case for the membership layer: no check-quorum, a deposed leader keeps deciding. */
  private sampleDeposed(): void {
    for (const n of this.nodes.values()) {
      if (n.state === 'up' && n.leaderTerm !== null && (n.id !== this.leader || !this.canLead(n.id))) this.deposedLeaderTicks++;
    }
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
    n.driver.stop();
    n.proc.kill();
    this.trackTruth();
  }

  /** `replayMs`: the new process starts empty (a member removed and added again) and knows no member for that long. */
  restart(id: string, replayMs = 0): void {
    const old = this.node(id);
    this.start(id, old.incarnation + 1, replayMs);
    this.trackTruth();
  }

  pause(id: string): void {
    const n = this.node(id);
    n.state = 'paused';
    n.proc.stall();
    this.trackTruth();
  }

  resume(id: string): void {
    const n = this.node(id);
    n.state = 'up';
    // On SIGCONT Node runs its expired timers before it reads the queued sockets.
    n.proc.resume();
    this.trackTruth();
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

  /**
   * The definition of online (docs/membership.md): the member runs and a quorum of voters,
   * itself included, hears it. A running voter V hears X while the link X -> V carries X's
   * pings (or its pongs) and V can dial X; isolation is a cut of every link.
   */
  truth(id: string): MemberStatus {
    if (!this.running(id)) return 'offline';
    const hearers = this.ids.filter((v) => v !== id && this.running(v) && this.linkUp(id, v) && this.canDial(v, id)).length;
    return 1 + hearers >= quorumOf(this.ids.length) ? 'online' : 'offline';
  }

  /** Cuts (on) or heals every link between the two sides, both ways; nodes in neither keep all theirs. */
  bridge(sideA: readonly string[], sideB: readonly string[], on: boolean): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cut(a, b, on ? 1 : -1);
        this.cut(b, a, on ? 1 : -1);
      }
    }
  }

  /** Cuts (on) or heals every link from `from` to `to`, one way only. */
  oneWay(from: readonly string[], to: readonly string[], on: boolean): void {
    for (const a of from) for (const b of to) if (a !== b) this.cut(a, b, on ? 1 : -1);
  }
}
