/**
 * A hand-driven cluster for scenario tests (the role of etcd's raft_paper_test.go network):
 * nothing happens unless the test says so. Every node runs the production RaftHost, as in the
 * seeded simulation (sim-node.ts), on time that moves only when the test ticks a node: a
 * node's timer fires when the test ticks it, and its "run soon" callbacks and disk completions
 * run as soon as the test's action is done (or, for a node whose writes are held, when the
 * test releases them). Messages wait in one FIFO queue; the test delivers, holds back or forges
 * them, and partitions nodes. The simulation's safety checks run after every action, so a
 * scenario that breaks Raft fails even if its own assertions miss it.
 */
import { HostError } from '../../src/api/consensus-port.js';
import { raftTickMs, type RaftHost } from '../../src/node/raft-host.js';
import type { StorageUpdate } from '../../src/node/raft-ports.js';
import {
  bootstrapState,
  RaftError,
  type ConfEntry,
  type ConfState,
  type Entry,
  type MemoryStorage,
  type Message,
  type NodeId,
  type NodeStatus,
  type ReadState,
  type SnapshotMeta,
  type SoftState,
} from '../../src/raft/index.js';
import type { Timer } from '../../src/util/clock.js';
import { seededRng } from '../../src/util/rng.js';
import { checkNodes, confText, logView, mix } from './node-checks.js';
import { bootstrapDisk } from './disk.js';
import { SafetyChecker } from './invariants.js';
import { decodePut, encodePut } from './kv.js';
import { SimNode, startAsPersisted, type NodeEnv, type NodeObserver, type NodeSettings } from './sim-node.js';
import type { ProcessTime } from './sim-time.js';
import { describeMessage } from './trace.js';

export const SCRIPT_SETTINGS: NodeSettings = {
  // RaftHost ticks every 5 ms at this interval: a heartbeat every tick, an election timeout of 10.
  heartbeatIntervalMs: 5,
  electionTimeoutMs: 50,
  maxInflight: 256,
  maxMessageBytes: 2 << 20,
  maxApplyBytes: 1 << 20,
  snapshotEvery: 0,
  snapshotTrailing: 0,
};

/** Requests wait this long before the host gives up on them: longer than any script runs. */
const NO_TIMEOUT_MS = 1e9;

/** A node's controls in a script: RaftHost's, with the answers a scenario wants at once. */
export interface ScriptHandle {
  readonly host: RaftHost;
  campaign(): void;
  transferLeadership(to: NodeId): void;
  propose(data: Uint8Array): { index: number; term: number };
  proposeConfChange(change: ConfEntry): { index: number; term: number };
  /** A linearizable read; once served it is listed in `Script.reads` under `context`. */
  readIndex(context: string): void;
}

/** Time of one process in a script: it moves only when the script says so. */
class ScriptProcess implements ProcessTime {
  alive = true;
  private readonly tickers: Array<{ cancelled: boolean; fn: () => void }> = [];

  constructor(
    private readonly script: Script,
    readonly id: NodeId,
  ) {}

  now(): number {
    return this.script.clock;
  }

  wallClockMs(): number {
    return this.script.clock;
  }

  after(ms: number, fn: () => void): Timer {
    const t = { cancelled: false, at: this.script.clock + ms, fn: () => this.alive && fn() };
    this.script.timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }

  every(_ms: number, fn: () => void): Timer {
    const t = { cancelled: false, fn };
    this.tickers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }

  soon(fn: () => void): void {
    this.script.later(this.id, false, () => this.alive && fn());
  }

  post(_delayMs: number, fn: () => void): void {
    this.script.later(this.id, true, () => this.alive && fn());
  }

  dispatch(fn: () => void): void {
    if (this.alive) fn();
  }

  /** The node's periodic timers fire once. */
  tick(): void {
    for (const t of this.tickers) if (!t.cancelled && this.alive) t.fn();
  }

  kill(): void {
    this.alive = false;
  }
}

export class Script implements NodeObserver {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly safety = new SafetyChecker();
  /** Every message any node sent, in order, whether or not it was delivered. */
  readonly sent: Message[] = [];
  /** Every read a node served, by node. */
  readonly reads = new Map<NodeId, ReadState[]>();
  /** Script time in ms: moves one tick each time a node is ticked. */
  clock = 0;
  /** One-shot timers of every process (request deadlines). */
  readonly timers: Array<{ cancelled: boolean; at: number; fn: () => void }> = [];
  /** Prints what happens, for the text scenarios (scenario.ts). */
  onEvent: ((line: string) => void) | null = null;
  private queue: Message[] = [];
  private work: Array<{ node: NodeId; io: boolean; fn: () => void }> = [];
  private readonly heldWrites = new Set<NodeId>();
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly appliedValues = new Map<NodeId, string[]>();
  private readonly procs = new Map<NodeId, ScriptProcess>();
  private nextWrite = 1;
  private readonly env: NodeEnv;

  constructor(
    readonly settings: NodeSettings = SCRIPT_SETTINGS,
    private readonly seed = 1,
    plant?: (host: RaftHost) => void,
  ) {
    this.env = {
      plant,
      settings,
      latency: { syncMs: () => 0, writeMs: () => 0 },
      observer: this,
      startDecision: startAsPersisted,
      newProcess: (n) => {
        const p = new ScriptProcess(this, n.id);
        this.procs.set(n.id, p);
        return p;
      },
      rngFor: (n) => seededRng(mix(this.seed, mix(n.incarnation, n.id.charCodeAt(n.id.length - 1)))),
      send: (n, msgs) => {
        for (const m of msgs) {
          this.safety.checkDurableBeforeSend(m, n.disk, (i) => logView(n.log()).term(i));
          this.sent.push(m);
          this.queue.push(m);
          this.emit(`send ${describeMessage(m)}`);
        }
      },
    };
  }

  /** A bootstrapped cluster of `voters`, all started, nothing elected yet. */
  static create(voters: readonly NodeId[], settings: Partial<NodeSettings> = {}, seed = 1, plant?: (host: RaftHost) => void): Script {
    const s = new Script({ ...SCRIPT_SETTINGS, ...settings }, seed, plant);
    const b = bootstrapState(voters, '');
    for (const id of voters) s.nodes.set(id, new SimNode(id, s.env, bootstrapDisk(b.entry, b.hardState)));
    for (const id of voters) s.start(id);
    return s;
  }

  /** One tick, in ms, as RaftHost ticks. */
  get tickMs(): number {
    return raftTickMs(this.settings.heartbeatIntervalMs);
  }

  /** The election timeout, in ticks. */
  get electionTicks(): number {
    return Math.round(this.settings.electionTimeoutMs / this.tickMs);
  }

  /** A new empty node (to be added as a learner), started. */
  addNode(id: NodeId): SimNode {
    const n = new SimNode(id, this.env);
    this.nodes.set(id, n);
    this.start(id);
    return n;
  }

  get(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`script: no node ${id}`);
    return n;
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
    for (let i = 0; i < times; i++) {
      this.clock += this.tickMs;
      this.act(id, () => this.procs.get(id)!.tick());
    }
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
    else this.emit(`drop ${describeMessage(m)}`);
    return true;
  }

  /** Steps `m` into its destination now, ignoring partitions (also for forged messages). */
  deliver(m: Message): void {
    const dest = this.nodes.get(m.to);
    if (!dest?.up) {
      this.emit(`lost ${describeMessage(m)}`);
      return;
    }
    this.emit(`recv ${describeMessage(m)}`);
    this.act(m.to, (h) => {
      h.host.noteMessageFrom(m.from);
      h.host.step(m);
    });
    // What a transport reports once a snapshot has been streamed.
    if (m.type === 'InstallSnapshot' && this.nodes.get(m.from)?.up) this.act(m.from, (h) => h.host.reportSnapshot(m.to, true));
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
    this.act(id, (h) => h.campaign());
    this.stabilize();
    const st = this.status(id);
    if (st.role !== 'leader') throw new Error(`script: ${id} did not win the election (${st.role} at term ${st.term})`);
  }

  // ---- clients ---------------------------------------------------------------------------

  /** Proposes `key=value` on `id`; returns where it landed. Throws the node's refusal. */
  propose(id: NodeId, kv: string): { index: number; term: number } {
    const [key, value] = kv.split('=');
    if (!key || value === undefined) throw new Error(`script: expected key=value, got ${kv}`);
    const cmd = { id: `s${this.nextWrite++}`, key, value };
    return this.act(id, (h) => h.propose(encodePut(cmd)));
  }

  /** Runs `fn` on a node, then lets its work run (drains, disk completions) and checks the invariants. */
  act<T>(id: NodeId, fn: (h: ScriptHandle) => T): T {
    const n = this.get(id);
    try {
      return fn(this.handle(n));
    } finally {
      this.settle();
      checkNodes(this.safety, this.nodes.values());
    }
  }

  /** True if `fn` throws a refusal (RaftError or HostError) with `code`. */
  refuses(id: NodeId, code: string, fn: (h: ScriptHandle) => unknown): boolean {
    try {
      this.act(id, fn);
      return false;
    } catch (e) {
      return (e instanceof RaftError || e instanceof HostError) && e.code === code;
    }
  }

  /** While held, `id`'s disk writes do not complete: what it does before they complete shows. */
  holdWrites(id: NodeId, held: boolean): void {
    if (held) this.heldWrites.add(id);
    else this.heldWrites.delete(id);
    this.settle();
    checkNodes(this.safety, this.nodes.values());
  }

  /** Queued work (drains, completions) of `node`, run by `settle`. */
  later(node: NodeId, io: boolean, fn: () => void): void {
    this.work.push({ node, io, fn });
  }

  /** Runs every node's pending work (and expired timers) until none is left. */
  private settle(): void {
    const live = this.timers.filter((t) => !t.cancelled);
    this.timers.length = 0;
    this.timers.push(...live);
    for (let guard = 0; ; guard++) {
      if (guard > 100000) throw new Error('script: nodes keep producing work');
      const due = this.timers.findIndex((t) => !t.cancelled && t.at <= this.clock);
      if (due >= 0) {
        const [t] = this.timers.splice(due, 1);
        t!.fn();
        continue;
      }
      const i = this.work.findIndex((w) => !w.io || !this.heldWrites.has(w.node));
      if (i < 0) return;
      const [w] = this.work.splice(i, 1);
      w!.fn();
    }
  }

  private handle(n: SimNode): ScriptHandle {
    const host = n.host();
    const ignore = { resolve: () => undefined, reject: () => undefined };
    return {
      host,
      campaign: () => host.campaign(),
      transferLeadership: (to) => host.transferLeadership(to),
      propose: (data) => host.startProposal(data, NO_TIMEOUT_MS, ignore),
      proposeConfChange: (change) => host.startConfChange(change, NO_TIMEOUT_MS, ignore),
      readIndex: (context) =>
        host.startRead(NO_TIMEOUT_MS, {
          resolve: (index) => {
            let mine = this.reads.get(n.id);
            if (!mine) this.reads.set(n.id, (mine = []));
            mine.push({ index, context });
            this.emit(`${n.id} serves read ${context} at ${index}`);
          },
          reject: () => undefined,
        }),
    };
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

  /** Kills a node; `loseUnsynced` drops the writes that were not yet durable. */
  crash(id: NodeId, loseUnsynced = true): void {
    const n = this.get(id);
    n.crash(loseUnsynced ? 0 : n.disk.unsynced());
    this.work = this.work.filter((w) => w.node !== id);
    this.safety.forgetNode(id);
    this.appliedValues.delete(id);
    this.emit(`${id} crashes`);
  }

  start(id: NodeId): void {
    const n = this.get(id);
    if (!n.start()) throw new Error(`script: ${id} refused to start`);
    this.settle();
    checkNodes(this.safety, this.nodes.values());
  }

  // ---- NodeObserver ----------------------------------------------------------------------

  softState(node: SimNode, ss: SoftState, term: number): void {
    this.emit(`${node.id} is ${ss.role} at term ${term}${ss.leader !== null && ss.leader !== node.id ? `, following ${ss.leader}` : ''}`);
  }

  wrote(node: SimNode, update: StorageUpdate, log: MemoryStorage): void {
    if (update.entries.length > 0) this.safety.observeLogEntries(node.id, update.entries, logView(log));
  }

  snapshotTaken(node: SimNode, index: number): void {
    this.emit(`${node.id} takes a snapshot at ${index}`);
  }

  applied(node: SimNode, e: Entry, identity: string, digest: number): void {
    this.safety.observeApply(node.id, e.index, identity, digest);
    const put = e.kind === 'normal' ? decodePut(e.data) : null;
    if (!put) return;
    let mine = this.appliedValues.get(node.id);
    if (!mine) this.appliedValues.set(node.id, (mine = []));
    mine.push(`${put.key}=${put.value}`);
    this.emit(`${node.id} applies ${e.index}/${e.term} ${put.key}=${put.value}`);
  }

  restored(node: SimNode, index: number, digest: number): void {
    this.safety.observeRestore(node.id, index, digest);
    this.appliedValues.set(node.id, [...node.sm.records()].map(([k, r]) => `${k}=${r.value}`));
  }

  installed(node: SimNode, meta: SnapshotMeta): void {
    this.emit(`${node.id} installs the snapshot at ${meta.index}/${meta.term}`);
  }

  confApplied(node: SimNode, index: number, change: ConfEntry, conf: ConfState): void {
    const what = change.type === 'bootstrap' ? 'bootstrap' : `${change.type} ${change.node}`;
    this.emit(`${node.id} applies ${index} ${what}: ${confText(conf)}`);
  }

  private emit(line: string): void {
    this.onEvent?.(line);
  }
}

/** Messages of one type (for counting and inspecting what was sent). */
export function ofType<T extends Message['type']>(ms: readonly Message[], type: T): Array<Extract<Message, { type: T }>> {
  return ms.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}
