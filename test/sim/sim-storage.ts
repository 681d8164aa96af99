/**
 * RaftHost's RaftStorage port on a simulated disk (disk.ts): what LevelRaftStorage is in
 * production. A write reaches the OS at once and completes at a later instant drawn from the
 * seed, as an event of the writing process; a synced write becomes durable when it completes.
 * Completions come in call order, as LevelRaftStorage chains its batches. A crash between a
 * write and its completion loses whatever the disk model says it loses.
 */
import { MemoryStorage, type Snapshot } from '../../src/raft/index.js';
import type { RaftStorage, StorageUpdate } from '../../src/node/raft-ports.js';
import { DeferredCommit } from '../../src/storage/deferred-commit.js';
import type { PersistedState } from '../../src/storage/level-raft-storage.js';
import type { Completion } from '../../src/util/completion.js';
import { applyWrite, type Disk, type DiskWrite } from './disk.js';
import { SimFuture } from './sim-future.js';
import type { ProcessTime } from './sim-time.js';

/** How long writes take, drawn per write from the simulation's seed. */
export interface DiskLatency {
  /** ms until a synced write completes (its fsync). */
  syncMs(): number;
  /** ms until an unsynced write completes. */
  writeMs(): number;
}

/** What the simulation's checks learn from the storage. */
export interface StorageObserver {
  /** A Ready's write was issued; `log` is the process's log after it. */
  wrote(update: StorageUpdate, log: MemoryStorage): void;
  snapshotTaken(index: number): void;
}

export class SimStorage implements RaftStorage {
  /** Everything this process wrote, durable or not: the log its checks read. */
  readonly log: MemoryStorage;
  private lastDoneAt = Number.NEGATIVE_INFINITY;
  private readonly deferred = new DeferredCommit();
  /** Completes with the last write issued (as LevelRaftStorage's chain). */
  private tail: SimFuture<void> = resolved();

  constructor(
    private readonly disk: Disk,
    private readonly proc: ProcessTime,
    private readonly latency: DiskLatency,
    persisted: PersistedState,
    private readonly observer: StorageObserver | null = null,
  ) {
    this.log = new MemoryStorage(persisted.snapshot?.meta.conf ?? { voters: [], learners: [] });
    applyWrite(this.log, { kind: 'ready', ...persisted });
  }

  save(update: StorageUpdate, sync: boolean): Completion<void> {
    // As LevelRaftStorage does: a commit-only hard state waits for the next write, so a crash
    // may leave the stored commit index behind (and a restart must cope with that).
    if (this.deferred.hold(update, sync)) return resolved();
    const hardState = this.deferred.take(update.hardState);
    if (hardState === null && update.entries.length === 0 && update.snapshot === null) {
      // Nothing to write (a synced update of nothing, with no commit index held): as
      // LevelRaftStorage, no write at all, but done only once every earlier write is (a local
      // snapshot's, in flight, may carry the commit index this update would have synced).
      return this.tail;
    }
    const w: DiskWrite = { kind: 'ready', snapshot: update.snapshot, entries: update.entries, hardState };
    applyWrite(this.log, w);
    this.observer?.wrote(update, this.log);
    return this.complete(this.disk.write(w), sync);
  }

  saveLocalSnapshot(snapshot: Snapshot, compactTo: number): Completion<void> {
    // LevelRaftStorage writes a deferred commit index in the snapshot's batch.
    if (this.deferred.holding) {
      const hs: DiskWrite = { kind: 'ready', snapshot: null, entries: [], hardState: this.deferred.take() };
      applyWrite(this.log, hs);
      this.disk.write(hs);
    }
    const w: DiskWrite = { kind: 'local-snapshot', snapshot, compactTo };
    applyWrite(this.log, w);
    this.observer?.snapshotTaken(snapshot.meta.index);
    return this.complete(this.disk.write(w), true);
  }

  private complete(id: number, sync: boolean): Completion<void> {
    const done = new SimFuture<void>();
    this.tail = done;
    const now = this.proc.now();
    const at = Math.max(this.lastDoneAt, now + (sync ? this.latency.syncMs() : this.latency.writeMs()));
    this.lastDoneAt = at;
    this.proc.post(at - now, () => {
      if (sync) this.disk.syncThrough(id);
      done.resolve();
    });
    return done;
  }
}

function resolved(): SimFuture<void> {
  const done = new SimFuture<void>();
  done.resolve(undefined);
  return done;
}
