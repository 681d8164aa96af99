/**
 * What a node has on disk, modelling the difference between written and durable.
 *
 * Every write goes to `pending` first (the OS has it, the disk may not). A write issued with
 * sync completes, some time later, with an fsync that makes it and every earlier write durable
 * (LevelDB syncs its log up to the synced batch). A crash keeps only a prefix of the pending
 * writes, of a length the simulation draws: the log is replayed up to the first torn record.
 * A restarted node sees only the durable image.
 */
import type { LocalIdentity } from '../../src/identity/index.js';
import { MemoryStorage, type ConfState, type Entry, type HardState, type Snapshot } from '../../src/raft/index.js';
import type { PersistedState } from '../../src/storage/level-raft-storage.js';

export type DiskWrite =
  /** One Ready's write, in the order ready.ts prescribes: snapshot, entries, hard state. */
  | { readonly kind: 'ready'; readonly snapshot: Snapshot | null; readonly entries: readonly Entry[]; readonly hardState: HardState | null }
  /** A snapshot the node's state machine took, then the log compacted up to `compactTo`. */
  | { readonly kind: 'local-snapshot'; readonly snapshot: Snapshot; readonly compactTo: number };

/** What the durability checks read: only what survives a crash. */
export interface DurableView {
  hardState(): HardState;
  lastIndex(): number;
  /** Term of entry i, or null if compacted or beyond the end. */
  term(i: number): number | null;
}

export class Disk implements DurableView {
  private image: MemoryStorage;
  private pending: Array<{ readonly id: number; readonly w: DiskWrite }> = [];
  private nextId = 1;
  /** The data dir's identity record (src/identity), written synchronously; a wipe loses it too. */
  identity: LocalIdentity | null = null;

  constructor(conf: ConfState = { voters: [], learners: [] }) {
    this.image = new MemoryStorage(conf);
  }

  /** Records a write (not yet durable); returns its id for `syncThrough`. */
  write(w: DiskWrite): number {
    const id = this.nextId++;
    this.pending.push({ id, w });
    return id;
  }

  /** An fsync completed: write `id` and everything written before it are durable. */
  syncThrough(id: number): void {
    while (this.pending.length > 0 && this.pending[0]!.id <= id) applyWrite(this.image, this.pending.shift()!.w);
  }

  /** The process died: the first `keep` pending writes made it to disk, the rest are lost. Returns how many were lost. */
  crash(keep: number): number {
    const kept = this.pending.slice(0, Math.max(0, keep));
    const lost = this.pending.length - kept.length;
    for (const p of kept) applyWrite(this.image, p.w);
    this.pending = [];
    return lost;
  }

  unsynced(): number {
    return this.pending.length;
  }

  /**
   * The last index up to which the log as written (durable image plus pending writes) is
   * durable: a crash now keeps it. Pending entries replace the log from their first index on;
   * a pending snapshot from the leader replaces all of it beyond the durable snapshot.
   */
  stableIndex(): number {
    let stable = this.image.lastIndex();
    for (const { w } of this.pending) {
      if (w.kind !== 'ready') continue;
      if (w.snapshot !== null) stable = Math.min(stable, this.image.snapshot().meta.index);
      const first = w.entries[0];
      if (first !== undefined) stable = Math.min(stable, first.index - 1);
    }
    return stable;
  }

  /** Everything is gone, durable or not (a lost or replaced disk). */
  wipe(): void {
    this.image = new MemoryStorage({ voters: [], learners: [] });
    this.pending = [];
    this.identity = null;
  }

  /** Writes `state` durably as a process's starting point (a bootstrap decided at start). */
  initialize(state: PersistedState): void {
    this.pending = [];
    this.image = new MemoryStorage(state.snapshot?.meta.conf ?? { voters: [], learners: [] });
    applyWrite(this.image, { kind: 'ready', snapshot: state.snapshot, entries: state.entries, hardState: state.hardState });
  }

  /** What a new process finds: the durable image (call after `crash`, never with writes pending). */
  load(): PersistedState {
    if (this.pending.length > 0) throw new Error('sim: a disk is loaded only after the process that wrote it died');
    const snap = this.image.snapshot();
    const first = this.image.firstIndex();
    const last = this.image.lastIndex();
    return {
      hardState: this.image.hardState(),
      snapshot: snap.meta.index > 0 ? snap : null,
      entries: last >= first ? this.image.entries(first, last + 1, Number.POSITIVE_INFINITY) : [],
    };
  }

  hardState(): HardState {
    return this.image.hardState();
  }

  lastIndex(): number {
    return this.image.lastIndex();
  }

  snapshotIndex(): number {
    return this.image.snapshot().meta.index;
  }

  term(i: number): number | null {
    if (i < this.image.firstIndex() - 1 || i > this.image.lastIndex()) return null;
    return this.image.term(i);
  }
}

/** Carries out one write on a log image. */
export function applyWrite(s: MemoryStorage, w: DiskWrite): void {
  switch (w.kind) {
    case 'ready':
      if (w.snapshot) s.applySnapshot(w.snapshot);
      s.append(w.entries);
      if (w.hardState) s.setHardState(w.hardState);
      return;
    case 'local-snapshot': {
      const { index, conf } = w.snapshot.meta;
      s.createSnapshot(index, conf, w.snapshot.data, index - w.compactTo, Number.POSITIVE_INFINITY);
      return;
    }
  }
}

/** A disk of the initial cluster: it already holds the bootstrap entry, durably. */
export function bootstrapDisk(entry: Entry, hardState: HardState): Disk {
  const disk = new Disk();
  disk.initialize({ hardState, entries: [entry], snapshot: null });
  return disk;
}
