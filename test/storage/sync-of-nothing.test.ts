/**
 * A synced save that finds nothing to write (RaftHost's sync of the commit index covering a
 * membership change, when a local snapshot's batch already carries that index) completes with
 * the write it waits for: had that write failed, the commit index is not known durable, and
 * RaftHost must not apply the change as if it were.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';

const enc = new TextEncoder();
const entries: Entry[] = [1, 2, 3].map((index) => ({ index, term: 1, kind: 'normal', data: enc.encode(`cmd-${index}`) }));
const hs = (commit: number): HardState => ({ term: 1, vote: 'c1', commit });
const snapshot: Snapshot = { meta: { index: 2, term: 1, conf: { voters: ['c1'], learners: [] } }, data: enc.encode('state@2') };

/** The batch LevelDB's chained batch API hands out, as far as the storage uses it. */
interface Batch {
  put(key: string, value: Uint8Array): unknown;
  del(key: string): unknown;
  write(opts: { sync: boolean }): Promise<void>;
}

void t.test('a synced save of nothing fails when the earlier write carrying the commit index failed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-storage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = await LevelRaftStorage.open(dir);
  await s.save({ hardState: hs(0), entries, snapshot: null }, true);
  // A commit-only hard state: held for the next write (deferred-commit.ts).
  await s.save({ hardState: hs(3), entries: [], snapshot: null }, false);

  // The next batch (the local snapshot's meta, which takes the held commit index) fails its fsync.
  const db = (s as unknown as { db: { batch(): Batch } }).db;
  const realBatch = db.batch.bind(db);
  let taken: () => void = () => undefined;
  const batchTaken = new Promise<void>((resolve) => (taken = resolve));
  db.batch = () => {
    db.batch = realBatch;
    const b = realBatch();
    taken();
    return { put: (k, v) => b.put(k, v), del: (k) => b.del(k), write: () => Promise.reject(new Error('EIO: fsync failed')) };
  };

  const snapshotDone = s.saveLocalSnapshot(snapshot, 1);
  await batchTaken;
  // RaftHost's sync of the commit index covering a membership change: nothing is left to write.
  const synced = s.save({ hardState: null, entries: [], snapshot: null }, true);
  await t.rejects(snapshotDone, { code: 'STORAGE_IO' }, "the snapshot's batch failed");
  await t.rejects(synced, { code: 'STORAGE_IO' }, 'and so does the sync that waited for it');
  await s.close();
});
