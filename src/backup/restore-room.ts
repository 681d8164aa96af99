/**
 * Whether the data dir's file system has room for a restore, asked before anything is written.
 * Restored onto a disk too small, the restore used to fail with LevelDB's error wrapped twice and
 * a controller's advice (`raft storage write to D.restoring-PID/raft failed: raft storage write
 * to ... failed: IO error: ...: No space left on device (LEVEL_IO_ERROR). Expected a durable
 * write; the node stops rather than acknowledge entries ... then restart the node (STORAGE_IO):
 * ...`, attack round 14): now the free and needed bytes are named first. And a restore that
 * fits but leaves less than `controller.min_free_disk_bytes` gives a node that refuses every
 * growing write from its first start (NO_SPACE): said at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readDiskFree } from '../node/disk-free.js';
import { RestoreError } from './restore-error.js';

export interface RestoreRoom {
  /** Free bytes of the data dir's file system before the restore; null when it could not be read. */
  readonly freeBytes: number | null;
  /** Why the restored node will refuse writes at once, or null. */
  readonly note: string | null;
}

/**
 * The snapshot's size, and room for LevelDB's log of its last chunks before they are flushed to
 * a table (4 MiB of write buffer): a 26.4 MB snapshot took 27.1 MB, written in 4 MB tables.
 */
const LEVELDB_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
export const restoreNeeds = (snapshotBytes: number): number => snapshotBytes + LEVELDB_WRITE_BUFFER_BYTES;

/** The nearest directory at or above `dir` that exists (the data dir and its parents may not yet). */
function nearestExisting(dir: string): string {
  let at = path.resolve(dir);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}

/**
 * Throws RestoreError NO_SPACE when the data dir's file system cannot hold the restore. That is
 * the data dir's own when it exists (a disk mounted there, or linked there, is what the restore
 * fills: ./restore-staging.ts), else the nearest existing parent's, where it will be made.
 */
export async function restoreRoom(dataDir: string, snapshotBytes: number, minFreeDiskBytes: number): Promise<RestoreRoom> {
  const where = nearestExisting(path.resolve(dataDir));
  const freeBytes = await readDiskFree(where);
  if (freeBytes === null) return { freeBytes, note: null };
  const needs = restoreNeeds(snapshotBytes);
  if (freeBytes < needs) {
    throw new RestoreError(
      'NO_SPACE',
      `refusing to restore into ${dataDir}: its file system (${where}) has ${freeBytes} bytes free, and writing this ${snapshotBytes}-byte snapshot takes about ${needs} ` +
        "(its size and LevelDB's write buffer); nothing was written: free space there, or set controller.data_dir to a larger disk",
    );
  }
  const left = freeBytes - needs;
  const note =
    minFreeDiskBytes > 0 && left < minFreeDiskBytes
      ? `${dataDir}'s file system will have about ${left} bytes free, below controller.min_free_disk_bytes ${minFreeDiskBytes}: ` +
        'the restored controller will refuse every write that grows the state (NO_SPACE) until space is freed there'
      : null;
  return { freeBytes, note };
}

/** The deepest cause of `err`: LevelDB's own words, without the controller's advice wrapped around them. */
function rootCause(err: unknown): Error | null {
  let at: unknown = err;
  let deepest: Error | null = null;
  for (let i = 0; i < 10 && at instanceof Error; i++) {
    deepest = at;
    at = at.cause;
  }
  return deepest;
}

/** The RestoreError for a failed write of the data dir, saying so plainly when the disk filled. */
export function writeFailure(dataDir: string, snapshotBytes: number, freeBytes: number | null, err: unknown): RestoreError {
  const cause = rootCause(err);
  const message = cause?.message ?? String(err);
  if ((cause as NodeJS.ErrnoException | null)?.code === 'ENOSPC' || /No space left on device/.test(message)) {
    const before = freeBytes === null ? '' : ` (${freeBytes} bytes were free before it)`;
    return new RestoreError(
      'NO_SPACE',
      `could not write ${dataDir}: its file system ran out of space writing the ${snapshotBytes}-byte snapshot${before}; the partial copy was removed and nothing was written: ` +
        `free space there, or set controller.data_dir to a larger disk (${message})`,
      { cause: err },
    );
  }
  return new RestoreError('WRITE_FAILED', `could not write ${dataDir}: ${message}`, { cause: err });
}
