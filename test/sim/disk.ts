/**
 * What a node has on disk, modelling the difference between written and synced.
 *
 * A Ready with mustSync=false may be written without fsync (ready.ts: only commit moved), so
 * such writes sit in `pending` until the next synced write flushes them. A crash either loses
 * them (the OS never wrote them back) or keeps them. A restarted node sees only `image`.
 * Taking a local snapshot is always a synced write, as it is in any real store.
 */
import { MemoryStorage, type ConfState, type Entry, type HardState, type Snapshot } from '../../src/raft/index.js';

export interface DiskWrite {
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

/** What the durability checks read: only what survives a crash. */
export interface DurableView {
  hardState(): HardState;
  lastIndex(): number;
  /** Term of entry i, or null if compacted or beyond the end. */
  term(i: number): number | null;
}

export class Disk implements DurableView {
  private readonly image: MemoryStorage;
  private pending: DiskWrite[] = [];

  constructor(conf: ConfState = { voters: [], learners: [] }) {
    this.image = new MemoryStorage(conf);
  }

  /** Records a write; a synced one makes every earlier write durable too. */
  write(w: DiskWrite, sync: boolean): void {
    if (!sync) {
      this.pending.push(w);
      return;
    }
    this.flush();
    applyWrite(this.image, w);
  }

  /** A local snapshot (synced), compacting the log up to index - trailing. */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array, trailing: number): void {
    this.flush();
    this.image.createSnapshot(index, conf, data, trailing);
  }

  /** The process died. Unsynced writes are lost when `loseUnsynced`, else they made it. Returns how many were lost. */
  crash(loseUnsynced: boolean): number {
    const lost = loseUnsynced ? this.pending.length : 0;
    if (loseUnsynced) this.pending = [];
    else this.flush();
    return lost;
  }

  /** A fresh storage holding exactly what is durable, for a new incarnation to start from. */
  load(): MemoryStorage {
    const snap = this.image.snapshot();
    const s = new MemoryStorage(snap.meta.conf);
    if (snap.meta.index > 0) s.applySnapshot(snap);
    const first = this.image.firstIndex();
    const last = this.image.lastIndex();
    if (last >= first) s.append(this.image.entries(first, last + 1, Number.POSITIVE_INFINITY));
    s.setHardState(this.image.hardState());
    return s;
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

  unsynced(): number {
    return this.pending.length;
  }

  private flush(): void {
    for (const w of this.pending) applyWrite(this.image, w);
    this.pending = [];
  }
}

/** Carries out one write in the order ready.ts prescribes: snapshot, entries, hard state. */
export function applyWrite(s: MemoryStorage, w: DiskWrite): void {
  if (w.snapshot) s.applySnapshot(w.snapshot);
  s.append(w.entries);
  if (w.hardState) s.setHardState(w.hardState);
}
