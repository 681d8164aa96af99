/**
 * `controller.min_free_disk_bytes`: the leader refuses, before proposing it, a write that would
 * leave its data dir's file system with less free space than the floor (NO_SPACE), as it refuses
 * one past `controller.quota_bytes`. A full disk is fatal to a controller (it cannot make an entry
 * durable, so it exits 1 rather than acknowledge it), and members of one cluster hold the same log
 * on alike disks, so they fill together. Measured (attack round 13): three members on 8 MiB disks
 * took six 0.9 MB puts, then all three exited at the seventh with 2.9 MB still free each (LevelDB
 * writes a table as large as its 4.5 MB log when it flushes), and the client was told only
 * `no endpoint answered`. Deletes and writes that do not grow the state pass, so room can be made.
 *
 * Only the leader's own disk is read: a follower whose disk is smaller still fills first. The
 * reading is refreshed in the background (statfs), and a write is judged on the last one, with
 * the growth counted twice (the log's record, then the table LevelDB flushes it to).
 */
import { ServiceFailure } from './service-error.js';

export interface DiskFloorOptions {
  /** The floor in bytes; 0: never refuse. */
  readonly minFreeBytes: number;
  readonly dataDir: string;
  /** This controller's id, to name whose disk refused. */
  readonly self: string;
}

export class DiskFloor {
  /** Free bytes at the last reading; null before the first (nothing is refused on no reading). */
  private freeBytes: number | null = null;

  constructor(private readonly opts: DiskFloorOptions) {}

  /** Takes a new reading of the data dir's free bytes (fs.statfs's bavail x bsize). */
  observe(freeBytes: number): void {
    this.freeBytes = freeBytes;
  }

  /** The last reading, or null. */
  free(): number | null {
    return this.freeBytes;
  }

  /** Throws NO_SPACE when a write growing the state by `growth` would leave less than the floor free. */
  check(growth: number, what: string): void {
    const { minFreeBytes, dataDir, self } = this.opts;
    if (growth <= 0 || minFreeBytes === 0 || this.freeBytes === null) return;
    const needs = 2 * growth;
    if (this.freeBytes - needs >= minFreeBytes) return;
    throw new ServiceFailure(
      'NO_SPACE',
      `${what} refused: the disk of ${self}'s data dir ${dataDir} has ${this.freeBytes} bytes free, and this write needs about ${needs} ` +
        `above controller.min_free_disk_bytes ${minFreeBytes}; a controller whose disk fills stops (it cannot make a write durable). ` +
        'Free disk space on the members, delete keys, or lower controller.min_free_disk_bytes',
    );
  }
}
