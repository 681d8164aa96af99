/**
 * One simulated controller process: a RawNode, the storage it reads (what was written), the
 * disk model (what survives a crash) and its KV state machine. `drain` is the driver loop and
 * carries out each Ready exactly in the order ready.ts prescribes:
 *   1. write snapshot, entries, hard state (synced iff mustSync);
 *   2. send the messages;
 *   3. restore the snapshot, apply the committed entries;
 *   4. serve read states once their index is applied;
 *   5. advance.
 * A crash throws away the RawNode, the state machine and the pending reads; a restart builds
 * them again from the disk alone.
 */
import {
  RawNode,
  type Entry,
  type HardState,
  type MemoryStorage,
  type Message,
  type NodeId,
  type NodeStatus,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
} from '../../src/raft/index.js';
import type { Rng } from '../../src/util/rng.js';
import { applyWrite, Disk } from './disk.js';
import { entryIdentity, KvStateMachine } from './kv.js';

export interface NodeSettings {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxInflight: number;
  readonly maxMessageBytes: number;
  readonly maxApplyBytes: number;
  /** Take a local snapshot every this many applied entries; 0 never does. */
  readonly snapshotEvery: number;
  /** Entries kept behind a snapshot for followers that are only a little behind. */
  readonly snapshotTrailing: number;
}

/** What the harness learns from a node's driver loop, in the order it happens. */
export interface NodeObserver {
  softState(node: SimNode, ss: SoftState): void;
  /** The Ready's writes are done (and synced if mustSync); its messages are not sent yet. */
  persisted(node: SimNode, rd: Ready): void;
  send(node: SimNode, m: Message): void;
  restored(node: SimNode, snap: Snapshot): void;
  applied(node: SimNode, e: Entry, identity: string): void;
  /** A read state whose index the state machine has now applied. */
  readServed(node: SimNode, rs: ReadState): void;
  snapshotTaken(node: SimNode, index: number): void;
}

export class SimNode {
  live: MemoryStorage;
  raw: RawNode | null = null;
  sm: KvStateMachine;
  /** Counts starts: 1 for the first process, +1 per restart. */
  incarnation = 0;
  private reads: ReadState[] = [];

  constructor(
    readonly id: NodeId,
    private readonly settings: NodeSettings,
    private readonly obs: NodeObserver,
    readonly disk: Disk = new Disk(),
  ) {
    this.live = disk.load();
    this.sm = KvStateMachine.fromSnapshot(this.live.snapshot());
  }

  get up(): boolean {
    return this.raw !== null;
  }

  /** The RawNode of a running node; throws for a crashed one (a harness bug). */
  node(): RawNode {
    if (!this.raw) throw new Error(`sim: node ${this.id} is down`);
    return this.raw;
  }

  status(): NodeStatus {
    return this.node().status();
  }

  /** Starts a process from what is durable: applied = the snapshot's index, state restored from it. */
  start(rng: Rng): void {
    if (this.raw) throw new Error(`sim: node ${this.id} is already up`);
    this.live = this.disk.load();
    const snap = this.live.snapshot();
    this.sm = KvStateMachine.fromSnapshot(snap);
    this.incarnation++;
    this.reads = [];
    if (snap.meta.index > 0) this.obs.restored(this, snap);
    const s = this.settings;
    this.raw = new RawNode({
      id: this.id,
      storage: this.live,
      rng,
      electionTicks: s.electionTicks,
      heartbeatTicks: s.heartbeatTicks,
      applied: snap.meta.index,
      maxMessageBytes: s.maxMessageBytes,
      maxInflight: s.maxInflight,
      maxApplyBytes: s.maxApplyBytes,
    });
    this.drain();
  }

  /** Kills the process; returns how many unsynced writes were lost. */
  crash(loseUnsynced: boolean): number {
    this.raw = null;
    this.reads = [];
    return this.disk.crash(loseUnsynced);
  }

  /** Carries out every pending Ready. */
  drain(): void {
    const raw = this.raw;
    if (!raw) return;
    for (let guard = 0; raw.hasReady(); guard++) {
      if (guard > 10000) throw new Error(`sim: node ${this.id} keeps producing Readies`);
      const rd = raw.ready();
      if (rd.softState) this.obs.softState(this, rd.softState);
      const w = { snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState };
      applyWrite(this.live, w);
      this.disk.write(w, rd.mustSync);
      this.obs.persisted(this, rd);
      for (const m of rd.messages) this.obs.send(this, m);
      if (rd.snapshot) {
        this.sm = KvStateMachine.fromSnapshot(rd.snapshot);
        this.obs.restored(this, rd.snapshot);
      }
      for (const e of rd.committedEntries) {
        if (e.index <= this.sm.applied) continue;
        const identity = entryIdentity(e);
        this.sm.apply(e, identity);
        this.obs.applied(this, e, identity);
      }
      for (const rs of rd.readStates) this.reads.push(rs);
      raw.advance(rd);
      this.serveReads();
      this.maybeSnapshot();
    }
  }

  private serveReads(): void {
    if (this.reads.length === 0) return;
    const waiting: ReadState[] = [];
    for (const rs of this.reads) {
      if (rs.index <= this.sm.applied) this.obs.readServed(this, rs);
      else waiting.push(rs);
    }
    this.reads = waiting;
  }

  private maybeSnapshot(): void {
    const { snapshotEvery, snapshotTrailing } = this.settings;
    if (snapshotEvery <= 0 || this.sm.applied - this.live.snapshot().meta.index < snapshotEvery) return;
    const index = this.sm.applied;
    const data = this.sm.snapshotData();
    this.live.createSnapshot(index, this.sm.conf, data, snapshotTrailing);
    this.disk.createSnapshot(index, this.sm.conf, data, snapshotTrailing);
    this.obs.snapshotTaken(this, index);
  }
}

/** A node of the initial cluster: its disk already holds the bootstrap entry (synced). */
export function bootstrapDisk(entry: Entry, hardState: HardState): Disk {
  const disk = new Disk();
  disk.write({ snapshot: null, entries: [entry], hardState }, true);
  return disk;
}
