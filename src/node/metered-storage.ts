/**
 * The Raft storage port with its writes timed for /metrics: each synced batch of entries and
 * hard state (raft_disk_fsync_duration_seconds, etcd's wal_fsync) and each snapshot with the
 * compaction behind it (raft_snapshot_save_duration_seconds). Results pass through untouched.
 */
import type { RaftStorage } from './raft-ports.js';

export interface StorageMeter {
  observeFsync(seconds: number): void;
  observeSnapshot(seconds: number, bytes: number): void;
}

export function meteredStorage(inner: RaftStorage, meter: StorageMeter): RaftStorage {
  const since = (started: number): number => (performance.now() - started) / 1000;
  return {
    save(update, sync) {
      const started = performance.now();
      const done = inner.save(update, sync);
      if (sync) done.then(() => meter.observeFsync(since(started)), () => undefined);
      return done;
    },
    saveLocalSnapshot(snapshot, compactTo) {
      const started = performance.now();
      const done = inner.saveLocalSnapshot(snapshot, compactTo);
      done.then(() => meter.observeSnapshot(since(started), snapshot.data.byteLength), () => undefined);
      return done;
    },
  };
}
