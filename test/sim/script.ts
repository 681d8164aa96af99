/**
 * A hand-driven cluster for scenario tests (the role of etcd's raft_paper_test.go network):
 * nothing happens unless the test says so. Messages wait in one FIFO queue; the test ticks
 * chosen nodes, delivers, holds back or forges messages, and partitions nodes. Each node runs
 * the same driver as the simulation (sim-node.ts), and the same safety checks run after every
 * delivery, so a scenario that breaks Raft fails even if its own assertions miss it.
 */
import {
  bootstrapState,
  RaftError,
  type Message,
  type NodeId,
  type NodeStatus,
  type RawNode,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
  type Entry,
} from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';
import { checkNodes, logView, mix } from './cluster.js';
import { SafetyChecker } from './invariants.js';
import { decodePut, encodePut } from './kv.js';
import { bootstrapDisk, SimNode, type NodeObserver, type NodeSettings } from './sim-node.js';

export const SCRIPT_SETTINGS: NodeSettings = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxInflight: 256,
  maxMessageBytes: 1 << 20,
  maxApplyBytes: 1 << 20,
  snapshotEvery: 0,
  snapshotTrailing: 0,
};

export class Script implements NodeObserver {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly safety = new SafetyChecker();
  /** Every message any node sent, in order, whether or not it was delivered. */
  readonly sent: Message[] = [];
  /** Every read state a node served, by node. */
  readonly reads = new Map<NodeId, ReadState[]>();
  private queue: Message[] = [];
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly appliedValues = new Map<NodeId, string[]>();
  private nextWrite = 1;

  constructor(
    readonly settings: NodeSettings = SCRIPT_SETTINGS,
    private readonly seed = 1,
  ) {}

  /** A bootstrapped cluster of `voters`, all started, nothing elected yet. */
  static create(voters: readonly NodeId[], settings: Partial<NodeSettings> = {}, seed = 1): Script {
    const s = new Script({ ...SCRIPT_SETTINGS, ...settings }, seed);
    const b = bootstrapState(voters, '');
    for (const id of voters) s.nodes.set(id, new SimNode(id, s.settings, s, bootstrapDisk(b.entry, b.hardState)));
    for (const id of voters) s.start(id);
    return s;
  }

  /** A new empty node (to be added as a learner), started. */
  addNode(id: NodeId): SimNode {
    const n = new SimNode(id, this.settings, this);
    this.nodes.set(id, n);
    this.start(id);
    return n;
  }

  get(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`script: no node ${id}`);
    return n;
  }

  raw(id: NodeId): RawNode {
    return this.get(id).node();
  }

  status(id: NodeId): NodeStatus {
    return this.get(id).status();
  }

  /** The writes (`key=value`) node `id` applied, in order; after a snapshot restore, the restored pairs first. */
  values(id: NodeId): readonly string[] {
    return this.appliedValues.get(id) ?? [];
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.up && n.status().role === 'leader').map((n) => n.id);
  }

  // ---- time and delivery -----------------------------------------------------------------

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.act(id, (r) => r.tick());
  }

  /** Messages waiting for delivery (optionally only those matching). */
  pending(match: (m: Message) => boolean = () => true): Message[] {
    return this.queue.filter(match);
  }

  /** Removes matching messages from the queue and returns them: they are lost unless re-delivered. */
  take(match: (m: Message) => boolean): Message[] {
    const out = this.queue.filter(match);
    this.queue = this.queue.filter((m) => !match(m));
    return out;
  }

  /**
   * Delivers queued messages in order until none are left; messages matching `drop` are lost
   * instead (a test holding one kind of traffic back). Returns how many were taken off the queue.
   */
  stabilize(drop: (m: Message) => boolean = () => false): number {
    let n = 0;
    while (this.deliverNext(drop)) n++;
    return n;
  }

  /** Delivers the oldest queued message (lost if a partition or `drop` says so). False when the queue is empty. */
  deliverNext(drop: (m: Message) => boolean = () => false): boolean {
    const m = this.queue.shift();
    if (!m) return false;
    if (this.connected(m.from, m.to) && !drop(m)) this.deliver(m);
    return true;
  }

  /** Steps `m` into its destination now, ignoring partitions (also for forged messages). */
  deliver(m: Message): void {
    const dest = this.nodes.get(m.to);
    if (!dest?.up) return;
    this.act(m.to, (r) => r.step(m));
    // What a transport reports once a snapshot has been streamed.
    if (m.type === 'InstallSnapshot' && this.nodes.get(m.from)?.up) this.act(m.from, (r) => r.reportSnapshot(m.to, true));
  }

  /**
   * Runs the cluster until `cond` holds: delivers one message at a time, and when none is
   * waiting ticks every node in `tickers`. Throws after `maxTicks` ticks.
   */
  runUntil(cond: () => boolean, tickers: readonly NodeId[], maxTicks = 500): void {
    let ticks = 0;
    while (!cond()) {
      if (this.deliverNext()) continue;
      if (ticks++ >= maxTicks) throw new Error(`script: condition not reached within ${maxTicks} ticks`);
      for (const id of tickers) if (this.get(id).up) this.tick(id);
    }
  }

  /** Campaigns on `id` and delivers everything; `id` must end up leader. */
  elect(id: NodeId): void {
    this.act(id, (r) => r.campaign());
    this.stabilize();
    const st = this.status(id);
    if (st.role !== 'leader') throw new Error(`script: ${id} did not win the election (${st.role} at term ${st.term})`);
  }

  // ---- clients ---------------------------------------------------------------------------

  /** Proposes `key=value` on `id`; returns where it landed. Throws the node's RaftError if it refuses. */
  propose(id: NodeId, kv: string): { index: number; term: number } {
    const [key, value] = kv.split('=');
    if (!key || value === undefined) throw new Error(`script: expected key=value, got ${kv}`);
    const cmd = { id: `s${this.nextWrite++}`, key, value };
    return this.act(id, (r) => r.propose(encodePut(cmd)));
  }

  /** Runs `fn` on a node's RawNode, then carries out its Readies and checks the invariants. */
  act<T>(id: NodeId, fn: (r: RawNode) => T): T {
    const n = this.get(id);
    try {
      return fn(n.node());
    } finally {
      n.drain();
      checkNodes(this.safety, this.nodes.values());
    }
  }

  /** True if `fn` throws a RaftError with `code`. */
  refuses(id: NodeId, code: string, fn: (r: RawNode) => unknown): boolean {
    try {
      this.act(id, fn);
      return false;
    } catch (e) {
      return e instanceof RaftError && e.code === code;
    }
  }

  // ---- faults ----------------------------------------------------------------------------

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(a < b ? `${a}|${b}` : `${b}|${a}`);
  }

  heal(): void {
    this.isolated.clear();
    this.cuts.clear();
  }

  connected(a: NodeId, b: NodeId): boolean {
    return !this.isolated.has(a) && !this.isolated.has(b) && !this.cuts.has(a < b ? `${a}|${b}` : `${b}|${a}`);
  }

  /** Kills a node; `loseUnsynced` drops the writes it had not synced. */
  crash(id: NodeId, loseUnsynced = true): void {
    this.get(id).crash(loseUnsynced);
    this.safety.forgetNode(id);
    this.appliedValues.delete(id);
  }

  start(id: NodeId): void {
    const n = this.get(id);
    n.start(seededRng(mix(this.seed, mix(n.incarnation, id.charCodeAt(id.length - 1)))));
    checkNodes(this.safety, this.nodes.values());
  }

  // ---- NodeObserver ----------------------------------------------------------------------

  softState(_node: SimNode, _ss: SoftState): void {}

  persisted(node: SimNode, rd: Ready): void {
    if (rd.entries.length > 0) this.safety.observeLogEntries(node.id, rd.entries, logView(node.live));
  }

  send(node: SimNode, m: Message): void {
    this.safety.checkDurableBeforeSend(m, node.disk, (i) => logView(node.live).term(i));
    this.sent.push(m);
    this.queue.push(m);
  }

  restored(node: SimNode, snap: Snapshot): void {
    this.safety.observeRestore(node.id, snap.meta.index, node.sm.digest());
    this.appliedValues.set(node.id, [...node.sm.records()].map(([k, r]) => `${k}=${r.value}`));
  }

  applied(node: SimNode, e: Entry, identity: string): void {
    this.safety.observeApply(node.id, e.index, identity, node.sm.digest());
    const put = e.kind === 'normal' ? decodePut(e.data) : null;
    if (!put) return;
    let mine = this.appliedValues.get(node.id);
    if (!mine) this.appliedValues.set(node.id, (mine = []));
    mine.push(`${put.key}=${put.value}`);
  }

  readServed(node: SimNode, rs: ReadState): void {
    let mine = this.reads.get(node.id);
    if (!mine) this.reads.set(node.id, (mine = []));
    mine.push(rs);
  }

  snapshotTaken(_node: SimNode, _index: number): void {}
}

/** Messages of one type (for counting and inspecting what was sent). */
export function ofType<T extends Message['type']>(ms: readonly Message[], type: T): Array<Extract<Message, { type: T }>> {
  return ms.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}
