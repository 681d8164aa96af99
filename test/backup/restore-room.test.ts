/**
 * `controller restore` onto a disk too small (src/backup/restore-room.ts): refused before
 * anything is written, naming the free and needed bytes; a disk filling anyway is said plainly,
 * without the running controller's advice; a restore that fits but leaves less than
 * controller.min_free_disk_bytes is warned of (the restored node would refuse every write).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { RestoreError } from '../../src/backup/restore-error.js';
import { restoreNeeds, restoreRoom, writeFailure } from '../../src/backup/restore-room.js';
import { StorageIoError } from '../../src/storage/errors.js';

const MiB = 1024 * 1024;

void t.test('a snapshot larger than the free space is refused NO_SPACE before anything is written, naming both', async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-room-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  // The data dir and its parent need not exist yet: the nearest existing dir is measured.
  const dataDir = path.join(parent, 'not', 'yet', 'c1');
  const huge = 2 ** 52;
  const err = (await t.rejects(restoreRoom(dataDir, huge, 0))) as unknown as RestoreError;
  t.equal(err.code, 'NO_SPACE');
  t.equal(err.exitCode, 1);
  t.match(err.message, new RegExp(`^refusing to restore into ${dataDir}: its file system \\(${parent}\\) has \\d+ bytes free, and writing this ${huge}-byte snapshot takes about ${restoreNeeds(huge)} .*nothing was written: free space there, or set controller\\.data_dir to a larger disk$`));
  t.notOk(fs.existsSync(path.join(parent, 'not')), 'nothing made');
});

void t.test('a restore that fits but leaves less than the floor is warned of; one that leaves more is not', async (t) => {
  const room = await restoreRoom(path.join(os.tmpdir(), 'c1'), MiB, 2 ** 52);
  t.ok(room.freeBytes !== null && room.freeBytes > restoreNeeds(MiB), 'the test machine has a few MiB free');
  t.match(room.note, /c1's file system will have about \d+ bytes free, below controller\.min_free_disk_bytes 4503599627370496: the restored controller will refuse every write that grows the state \(NO_SPACE\)/);
  t.equal((await restoreRoom(path.join(os.tmpdir(), 'c1'), MiB, 0)).note, null, 'floor off');
  t.equal((await restoreRoom(path.join(os.tmpdir(), 'c1'), MiB, 1)).note, null, 'room above the floor');
});

void t.test("a disk that fills during the write is named as such, with LevelDB's words and not a running controller's advice", async (t) => {
  const level = new Error('IO error: /srv/c1.restoring-7/raft/000004.log: No space left on device');
  const wrapped = new StorageIoError(
    'raft storage write to /srv/c1.restoring-7/raft failed: raft storage write to /srv/c1.restoring-7/raft failed: IO error: ... (LEVEL_IO_ERROR). Expected a durable write; the node stops rather than acknowledge entries or votes it may lose. Check free disk space and permissions on the data dir, then restart the node',
    { cause: new StorageIoError('raft storage write to /srv/c1.restoring-7/raft failed', { cause: level }) },
  );
  const full = writeFailure('/srv/c1', 26_404_657, 5 * MiB, wrapped);
  t.equal(full.code, 'NO_SPACE');
  t.equal(
    full.message,
    `could not write /srv/c1: its file system ran out of space writing the 26404657-byte snapshot (${5 * MiB} bytes were free before it); the partial copy was removed and nothing was written: ` +
      'free space there, or set controller.data_dir to a larger disk (IO error: /srv/c1.restoring-7/raft/000004.log: No space left on device)',
  );
  const other = writeFailure('/srv/c1', 1, null, new StorageIoError('raft storage write failed ... then restart the node', { cause: new Error('IO error: /srv/c1.restoring-7/raft/LOCK: Permission denied') }));
  t.equal(other.code, 'WRITE_FAILED');
  t.equal(other.message, 'could not write /srv/c1: IO error: /srv/c1.restoring-7/raft/LOCK: Permission denied');
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, mkdir'), { code: 'ENOSPC' });
  t.equal(writeFailure('/srv/c1', 1, null, enospc).code, 'NO_SPACE', "node's own ENOSPC too");
});
