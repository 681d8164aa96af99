/**
 * N in-process Raft nodes on a simulated network, driven one event at a time: a tick of the
 * clock or the delivery of one message. After every event the safety invariants are checked
 * (invariants.ts) and client guarantees are tracked (clients.ts).
 *
 * Membership follows the log: `members()` is the configuration of the highest applied
 * conf entry anywhere. A removed node that applied its own removal shuts down (as etcd's
 * server does) and is never restarted; one that never learned of it keeps running as a zombie.
 */
import {
  bootstrapState,
  decodeConfEntry,
  MemoryStorage,
  RaftError,
  type ConfEntry,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
} from '../../src/raft/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { ClientTracker } from './clients.js';
import { InvariantViolation, SafetyChecker, type LogView } from './invariants.js';
import { encodePut } from './kv.js';
import { SimNetwork, type DropReason, type FaultSettings, type InFlight } from './network.js';
import { bootstrapDisk, SimNode, type NodeObserver, type NodeSettings } from './sim-node.js';
import type { Trace } from './trace.js';

export const STAT_NAMES = [
  'ticks',
  'leaders',
  'crashes',
  'restarts',
  'lostUnsynced',
  'snapshotsTaken',
  'snapshotsInstalled',
  'proposals',
  'acked',
  'reads',
  'readsServed',
  'transfers',
  'transfersCompleted',
  'learnersAdded',
  'promotions',
  'removals',
  'leaderSelfRemovals',
  'partitions',
] as const;
export type StatName = (typeof STAT_NAMES)[number];
export type SimStats = Record<StatName, number>;

export function emptyStats(): SimStats {
  return Object.fromEntries(STAT_NAMES.map((k) => [k, 0])) as SimStats;
}

export interface ClusterOptions {
  readonly seed: number;
  readonly voters: readonly NodeId[];
  readonly node: NodeSettings;
  readonly faults: FaultSettings;
  /** Probability that a crash loses the writes that were not synced. */
  readonly loseUnsyncedRate: number;
  readonly trace: Trace;
}

interface Report {
  readonly f: InFlight;
  readonly kind: 'unreachable' | 'snapshot-ok' | 'snapshot-failed';
}

export class Cluster implements NodeObserver {
  readonly net: SimNetwork;
  readonly safety = new SafetyChecker();
  readonly clients = new ClientTracker();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly stats = emptyStats();
  readonly trace: Trace;
  /** For choices the harness makes itself (whether a crash loses unsynced writes). */
  private readonly rng: Rng;
  private latestConf: { index: number; conf: ConfState } = { index: 0, conf: { voters: [], learners: [] } };
  private readonly everMember = new Set<NodeId>();
  private readonly retired = new Set<NodeId>();
  private readonly confIndexesSeen = new Set<number>();
  private reports: Report[] = [];
  /**
   * Set by a test: a stalled process (starved of CPU, or stopped) neither ticks nor reads its
   * messages, which wait for it in order (`held`); it runs its timers first when it resumes.
   */
  stalled: ((id: NodeId) => boolean) | null = null;
  private readonly held = new Map<NodeId, InFlight[]>();
  private transferTarget: NodeId | null = null;
  private nextNodeNumber: number;

  constructor(private readonly opts: ClusterOptions) {
    this.trace = opts.trace;
    this.rng = seededRng(mix(opts.seed, 0x5eed));
    this.net = new SimNetwork(seededRng(mix(opts.seed, 0x6e7)), opts.faults);
    this.net.onDrop = (f, reason) => this.onDrop(f, reason);
    this.nextNodeNumber = opts.voters.length + 1;
    const b = bootstrapState(opts.voters, '');
    for (const id of opts.voters) {
      this.nodes.set(id, new SimNode(id, opts.node, this, bootstrapDisk(b.entry, b.hardState)));
    }
    for (const n of this.nodes.values()) n.start(this.nodeRng(n));
    this.checkStep();
  }

  get now(): number {
    return this.net.now;
  }

  note(text: string): void {
    this.trace.note(this.now, text);
  }

  // ---- queries ---------------------------------------------------------------------------

  get(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`sim: no node ${id}`);
    return n;
  }

  up(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** Crashed nodes that may be restarted. */
  down(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.up && !this.retired.has(n.id));
  }

  leaders(): SimNode[] {
    return this.up().filter((n) => n.status().role === 'leader');
  }

  /** The leader of the highest term among the running nodes, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const n of this.leaders()) {
      const t = n.status().term;
      if (t > bestTerm) {
        best = n;
        bestTerm = t;
      }
    }
    return best;
  }

  /** The configuration of the newest applied membership change anywhere. */
  members(): ConfState {
    return this.latestConf.conf;
  }

  isMember(id: NodeId): boolean {
    const c = this.latestConf.conf;
    return c.voters.includes(id) || c.learners.includes(id);
  }

  /** True once `id` appeared in some applied configuration. */
  wasMember(id: NodeId): boolean {
    return this.everMember.has(id);
  }

  isRetired(id: NodeId): boolean {
    return this.retired.has(id);
  }

  // ---- time ------------------------------------------------------------------------------

  /**
   * One tick of the clock on every running node (or only on those `runs` picks: a starved
   * process whose timer did not fire), then every message that is now due.
   */
  tick(runs?: (id: NodeId) => boolean): void {
    this.net.now++;
    this.stats.ticks++;
    for (const n of this.nodes.values()) {
      if (!n.up || this.stalled?.(n.id) === true || (runs !== undefined && !runs(n.id))) continue;
      n.node().tick();
      n.drain();
    }
    this.flushReports();
    this.checkStep();
    this.deliverHeld();
    this.deliverDue();
  }

  /** Messages that waited for a stalled node, once it runs again (after its timers, as Node does). */
  private deliverHeld(): void {
    for (const [id, held] of [...this.held]) {
      if (this.stalled?.(id) === true) continue;
      this.held.delete(id);
      for (const f of held) {
        this.deliver(f);
        this.flushReports();
        this.checkStep();
      }
    }
  }

  /** Delivers every message due by now, one at a time, checking invariants after each. */
  deliverDue(): void {
    for (let guard = 0; ; guard++) {
      if (guard > 200000) throw new Error('sim: messages keep arriving within one tick');
      const f = this.net.takeDue();
      this.flushReports();
      if (!f) return;
      this.deliver(f);
      this.flushReports();
      this.checkStep();
    }
  }

  private deliver(f: InFlight): void {
    const m = f.msg;
    const dest = this.nodes.get(m.to);
    if (!dest || !dest.up) {
      this.trace.message(this.now, 'lost(down)', m);
      this.onDrop(f, 'partition'); // a connection to a dead process fails like a partition
      return;
    }
    if (this.stalled?.(m.to) === true) {
      this.held.set(m.to, [...(this.held.get(m.to) ?? []), f]);
      return;
    }
    this.trace.message(this.now, 'deliver', m);
    dest.node().step(m);
    dest.drain();
    if (m.type === 'InstallSnapshot') this.reports.push({ f, kind: 'snapshot-ok' });
  }

  private onDrop(f: InFlight, reason: DropReason): void {
    if (reason !== 'partition' || this.nodes.get(f.msg.to)?.up) this.trace.message(this.now, `drop(${reason})`, f.msg);
    // Reports go back to the sender after the current Ready is done: never re-enter its driver loop.
    if (reason === 'partition') this.reports.push({ f, kind: 'unreachable' });
    if (f.msg.type === 'InstallSnapshot') this.reports.push({ f, kind: 'snapshot-failed' });
  }

  /** What a transport tells the sender: a peer is unreachable, a snapshot arrived or failed. */
  private flushReports(): void {
    while (this.reports.length > 0) {
      const batch = this.reports;
      this.reports = [];
      for (const { f, kind } of batch) {
        const sender = this.nodes.get(f.msg.from);
        if (!sender?.up || sender.incarnation !== f.senderIncarnation) continue;
        if (kind === 'unreachable') sender.node().reportUnreachable(f.msg.to);
        else sender.node().reportSnapshot(f.msg.to, kind === 'snapshot-ok');
        sender.drain();
      }
    }
  }

  // ---- faults ----------------------------------------------------------------------------

  crash(id: NodeId): void {
    const n = this.get(id);
    if (!n.up) return;
    this.held.delete(id);
    const lose = this.rng.next() < this.opts.loseUnsyncedRate;
    const lost = n.crash(lose);
    this.safety.forgetNode(id);
    this.clients.onCrash(id);
    this.stats.crashes++;
    if (lost > 0) this.stats.lostUnsynced++;
    this.note(`CRASH ${id}${lost > 0 ? ` (lost ${lost} unsynced writes)` : ''}`);
  }

  restart(id: NodeId): void {
    const n = this.get(id);
    if (n.up || this.retired.has(id)) return;
    this.stats.restarts++;
    n.start(this.nodeRng(n));
    const st = n.status();
    this.note(`RESTART ${id} term=${st.term} commit=${st.commit} applied=${st.applied} last=${st.lastIndex}`);
    this.flushReports();
    this.checkStep();
  }

  /** Stops a removed node for good. */
  retire(id: NodeId): void {
    const n = this.get(id);
    if (n.up) n.crash(false);
    this.clients.onCrash(id);
    this.safety.forgetNode(id);
    this.retired.add(id);
    this.note(`RETIRE ${id}`);
  }

  /** Removed nodes that know they were removed shut down; removed nodes that are down stay down. */
  housekeeping(): void {
    for (const id of this.everMember) {
      if (this.isMember(id) || this.retired.has(id)) continue;
      const n = this.get(id);
      const knows = n.up && !n.sm.conf.voters.includes(id) && !n.sm.conf.learners.includes(id);
      if (!n.up || (knows && this.rng.next() < 0.3)) this.retire(id);
    }
  }

  // ---- clients ---------------------------------------------------------------------------

  /** A client writes `key` through `via` (default: a random current leader). Returns the write's id if a leader took it. */
  propose(key: string, via?: SimNode): string | null {
    const leaders = via ? [via] : this.leaders();
    if (leaders.length === 0) {
      this.note(`propose ${key}: no leader`);
      return null;
    }
    const l = leaders[this.rng.int(0, leaders.length)]!;
    const cmd = this.clients.newWrite(key);
    this.stats.proposals++;
    const ok = this.attempt(`propose ${cmd.id} ${key}=${cmd.value} via ${l.id}`, l, () => {
      const at = l.node().propose(encodePut(cmd));
      this.clients.proposed(l.id, l.incarnation, cmd, at);
      return `at ${at.index}/${at.term}`;
    });
    return ok ? cmd.id : null;
  }

  /** A client reads `key` through node `id` with ReadIndex. */
  read(id: NodeId, key: string): void {
    const n = this.get(id);
    if (!n.up) return;
    const context = this.clients.issueRead(id, key);
    this.stats.reads++;
    const ok = this.attempt(`read ${context} ${key} via ${id}`, n, () => {
      n.node().readIndex(context);
      return '';
    });
    if (!ok) this.clients.abandonRead(context);
  }

  // ---- administration --------------------------------------------------------------------

  transfer(to: NodeId): void {
    const l = this.leader();
    if (!l) return;
    this.stats.transfers++;
    this.attempt(`transfer ${l.id} -> ${to}`, l, () => {
      l.node().transferLeadership(to);
      this.transferTarget = to;
      return '';
    });
  }

  /** Proposes adding a fresh node as a learner and starts its (empty) process. */
  addLearner(): NodeId | null {
    const l = this.leader();
    if (!l) return null;
    const id = `n${this.nextNodeNumber}`;
    const ok = this.confChange(l, { type: 'add-learner', node: id, context: '' });
    if (!ok) return null;
    this.nextNodeNumber++;
    const n = new SimNode(id, this.opts.node, this);
    this.nodes.set(id, n);
    n.start(this.nodeRng(n));
    this.checkStep();
    return id;
  }

  promote(id: NodeId): void {
    const l = this.leader();
    if (l) this.confChange(l, { type: 'promote', node: id, context: '' });
  }

  remove(id: NodeId): void {
    const l = this.leader();
    if (l) this.confChange(l, { type: 'remove', node: id, context: '' });
  }

  campaign(id: NodeId): void {
    const n = this.get(id);
    if (!n.up) return;
    this.attempt(`campaign ${id}`, n, () => {
      n.node().campaign();
      return '';
    });
  }

  private confChange(l: SimNode, c: ConfEntry): boolean {
    return this.attempt(`conf ${c.type} ${c.type === 'bootstrap' ? '' : c.node} via ${l.id}`, l, () => {
      const at = l.node().proposeConfChange(c);
      return `at ${at.index}/${at.term}`;
    });
  }

  /** Runs a request on a node; a RaftError is the node refusing (traced), anything else a bug. */
  private attempt(what: string, n: SimNode, fn: () => string): boolean {
    let ok = true;
    try {
      const detail = fn();
      this.note(`${what}${detail ? ` ${detail}` : ''}`);
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      this.note(`${what}: refused ${e.code}`);
      ok = false;
    }
    n.drain();
    this.flushReports();
    this.checkStep();
    return ok;
  }

  // ---- invariants ------------------------------------------------------------------------

  /** The per-event checks: election safety, commit monotonicity, leader completeness, driver agreement. */
  checkStep(): void {
    checkNodes(this.safety, this.nodes.values());
  }

  // ---- NodeObserver ----------------------------------------------------------------------

  softState(node: SimNode, ss: SoftState): void {
    const st = node.node().status();
    this.note(`${node.id} is ${ss.role} term=${st.term} leader=${ss.leader ?? '-'} last=${st.lastIndex} commit=${st.commit}`);
    if (ss.role === 'leader') {
      this.stats.leaders++;
      if (node.id === this.transferTarget) {
        this.stats.transfersCompleted++;
        this.transferTarget = null;
      }
    }
  }

  persisted(node: SimNode, rd: Ready): void {
    if (rd.entries.length > 0) this.safety.observeLogEntries(node.id, rd.entries, logView(node.live));
    if (rd.snapshot) this.stats.snapshotsInstalled++;
  }

  send(node: SimNode, m: Message): void {
    this.safety.checkDurableBeforeSend(m, node.disk, (i) => logView(node.live).term(i));
    this.net.send(m, node.incarnation);
  }

  restored(node: SimNode, snap: Snapshot): void {
    this.safety.observeRestore(node.id, snap.meta.index, node.sm.digest());
    this.noteConf(snap.meta.index, snap.meta.conf);
  }

  applied(node: SimNode, e: Entry, identity: string): void {
    this.safety.observeApply(node.id, e.index, identity, node.sm.digest());
    const ack = this.clients.onApply(node.id, node.incarnation, e);
    if (ack) {
      this.stats.acked++;
      this.note(`ACK ${ack.id} ${ack.key} at ${ack.index}/${ack.term} by ${node.id}`);
    }
    if (e.kind === 'conf') this.onConfApplied(node, e);
  }

  readServed(node: SimNode, rs: ReadState): void {
    this.clients.onReadServed(node.id, rs.context, rs.index, (k) => node.sm.get(k));
    this.stats.readsServed = this.clients.readsServed;
  }

  snapshotTaken(node: SimNode, index: number): void {
    this.stats.snapshotsTaken++;
    this.note(`${node.id} snapshot at ${index}`);
  }

  private onConfApplied(node: SimNode, e: Entry): void {
    const first = !this.confIndexesSeen.has(e.index);
    this.confIndexesSeen.add(e.index);
    if (first) {
      let c: ConfEntry | null;
      try {
        c = decodeConfEntry(e.data);
      } catch {
        c = null;
      }
      if (c?.type === 'add-learner') this.stats.learnersAdded++;
      if (c?.type === 'promote') this.stats.promotions++;
      if (c?.type === 'remove') this.stats.removals++;
      // advance() has not run yet, so a leader removing itself is still leader here.
      if (c?.type === 'remove' && c.node === node.id && node.node().status().role === 'leader') this.stats.leaderSelfRemovals++;
      this.note(`conf at ${e.index} -> ${confText(node.sm.conf)}`);
    }
    this.noteConf(e.index, node.sm.conf);
  }

  private noteConf(index: number, conf: ConfState): void {
    if (index <= this.latestConf.index) return;
    this.latestConf = { index, conf };
    for (const id of [...conf.voters, ...conf.learners]) this.everMember.add(id);
  }

  private nodeRng(n: SimNode): Rng {
    let h = mix(this.opts.seed, n.incarnation + 1);
    for (let i = 0; i < n.id.length; i++) h = mix(h, n.id.charCodeAt(i));
    return seededRng(h);
  }
}

/** The checks to run after every event, over every running node. */
export function checkNodes(safety: SafetyChecker, nodes: Iterable<SimNode>): void {
  for (const n of nodes) {
    if (!n.up) continue;
    const st = n.status();
    const view = logView(n.live);
    safety.observeCommit(n.id, st.commit, st.term, view);
    if (st.role === 'leader') {
      safety.observeLeader(n.id, st.term);
      safety.checkLeaderCompleteness(n.id, st.term, view);
    }
    if (st.applied !== n.sm.applied) {
      throw new InvariantViolation('driver-agreement', `${n.id}: raft applied ${st.applied}, state machine ${n.sm.applied}`);
    }
    if (!sameConf(st.conf, n.sm.conf)) {
      throw new InvariantViolation('driver-agreement', `${n.id}: raft conf ${confText(st.conf)} but the state machine's is ${confText(n.sm.conf)}`);
    }
  }
}

/** A node's log as the checks see it: its storage, which after each Ready holds everything it has. */
export function logView(s: MemoryStorage): LogView {
  return {
    term: (i) => (i < s.firstIndex() - 1 || i > s.lastIndex() ? null : s.term(i)),
    entry: (i) => (i < s.firstIndex() || i > s.lastIndex() ? null : (s.entries(i, i + 1, Number.POSITIVE_INFINITY)[0] ?? null)),
    compacted: () => s.firstIndex() - 1,
    lastIndex: () => s.lastIndex(),
  };
}

function sameConf(a: ConfState, b: ConfState): boolean {
  return a.voters.join(',') === b.voters.join(',') && a.learners.join(',') === b.learners.join(',');
}

export function confText(c: ConfState): string {
  return `voters=[${c.voters.join(',')}] learners=[${c.learners.join(',')}]`;
}

/** Mixes two numbers into a 32-bit seed. */
export function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}
