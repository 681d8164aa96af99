/**
 * `controller.min_free_disk_bytes`: the leader refuses, before proposing it, a write that would
 * leave a voter's data dir file system with less free space than the floor (NO_SPACE), as it
 * refuses one past `controller.quota_bytes`. A full disk is fatal to a controller (it cannot make
 * an entry durable, so it exits 1 rather than acknowledge it), and members of one cluster hold the
 * same log, so they fill together. Measured (attack round 13): three members on 8 MiB disks
 * took six 0.9 MB puts, then all three exited at the seventh with 2.9 MB still free each (LevelDB
 * writes a table as large as its 4.5 MB log when it flushes), and the client was told only
 * `no endpoint answered`. Deletes and writes that do not grow the state pass, so room can be made.
 *
 * The leader's own disk is read in the background (statfs); the other voters' disks are asked by
 * the leader (voter-disks.ts) and judged while their reading is fresh. Before, only the leader's
 * was: a follower on a 24 MiB disk (below the 64 MiB floor from its start) took 22 puts of 0.9 MB
 * without a word in any log or answer, then exited 1 with 4.4 MB free (attack round 14). Each
 * voter is judged against the higher of its own floor and the leader's, with the growth counted
 * twice (the log's record, then the table LevelDB flushes it to).
 */
import { ServiceFailure } from './service-error.js';

export interface DiskFloorOptions {
  /** The floor in bytes; 0: never refuse for this node's own disk. */
  readonly minFreeBytes: number;
  readonly dataDir: string;
  /** This controller's id, to name whose disk refused. */
  readonly self: string;
  /** A monotonic clock in ms, to age the other voters' readings. */
  readonly now: () => number;
}

/** Another voter's disk as it answered the leader. */
interface VoterDisk {
  readonly freeBytes: number;
  /** Its own controller.min_free_disk_bytes; 0 when off, or from a version that does not say. */
  readonly floorBytes: number;
  readonly at: number;
}

/** A voter's reading older than this is not judged: the voter no longer answers (it is offline, or stopped). */
export const VOTER_DISK_FRESH_MS = 10_000;

export class DiskFloor {
  /** Free bytes at the last reading; null before the first (nothing is refused on no reading). */
  private freeBytes: number | null = null;
  private readonly voters = new Map<string, VoterDisk>();

  constructor(private readonly opts: DiskFloorOptions) {}

  /** Takes a new reading of the data dir's free bytes (fs.statfs's bavail x bsize). */
  observe(freeBytes: number): void {
    this.freeBytes = freeBytes;
  }

  /** The last reading, or null. */
  free(): number | null {
    return this.freeBytes;
  }

  /** Takes another voter's answer: its free bytes and its own floor. */
  observeVoter(id: string, freeBytes: number, floorBytes: number): void {
    this.voters.set(id, { freeBytes, floorBytes, at: this.opts.now() });
  }

  /** Forgets the readings of members that are no longer voters (or of every one: this node stopped leading). */
  retainVoters(ids: ReadonlySet<string>): void {
    for (const id of this.voters.keys()) if (!ids.has(id)) this.voters.delete(id);
  }

  /** Why this node's own disk is below its floor now, or null (no reading, floor off, or above it). */
  ownShortfall(): string | null {
    const { minFreeBytes, dataDir, self } = this.opts;
    if (minFreeBytes === 0 || this.freeBytes === null || this.freeBytes >= minFreeBytes) return null;
    return (
      `the disk of ${self}'s data dir ${dataDir} has ${this.freeBytes} bytes free, below controller.min_free_disk_bytes ${minFreeBytes}: ` +
      'a controller whose disk fills stops (exit 1); free disk space on it, or give it a larger disk'
    );
  }

  /**
   * Why every write that grows the state is refused now: a voter's disk (this node's or another's,
   * judged as check() judges them) already below its floor; null when none is. `ctl health` is
   * unhealthy then, as etcd's is while its NOSPACE alarm stands.
   */
  refusingWrites(): string | null {
    const { minFreeBytes, self } = this.opts;
    const below = (id: string, free: number, floor: number): string =>
      `the leader refuses every write that grows the state: the disk of ${id}'s data dir has ${free} bytes free, below controller.min_free_disk_bytes ${floor}; free disk space on ${id}`;
    if (minFreeBytes > 0 && this.freeBytes !== null && this.freeBytes < minFreeBytes) return below(self, this.freeBytes, minFreeBytes);
    for (const v of this.judgedVoters()) if (v.disk.freeBytes < v.floor) return below(v.id, v.disk.freeBytes, v.floor);
    return null;
  }

  /** The other voters whose reading is fresh and whose floor (the higher of theirs and this node's) is on. */
  private *judgedVoters(): Generator<{ readonly id: string; readonly disk: VoterDisk; readonly floor: number; readonly ageMs: number }> {
    const now = this.opts.now();
    for (const [id, disk] of this.voters) {
      const floor = Math.max(this.opts.minFreeBytes, disk.floorBytes);
      const ageMs = now - disk.at;
      if (floor > 0 && ageMs <= VOTER_DISK_FRESH_MS) yield { id, disk, floor, ageMs };
    }
  }

  /** Throws NO_SPACE when a write growing the state by `growth` would leave a voter's disk below its floor. */
  check(growth: number, what: string): void {
    if (growth <= 0) return;
    const { minFreeBytes, dataDir, self } = this.opts;
    const needs = 2 * growth;
    const tail = 'a controller whose disk fills stops (it cannot make a write durable). ';
    if (minFreeBytes > 0 && this.freeBytes !== null && this.freeBytes - needs < minFreeBytes) {
      throw new ServiceFailure(
        'NO_SPACE',
        `${what} refused: the disk of ${self}'s data dir ${dataDir} has ${this.freeBytes} bytes free, and this write needs about ${needs} ` +
          `above controller.min_free_disk_bytes ${minFreeBytes}; ${tail}` +
          'Free disk space on the members, delete keys, or lower controller.min_free_disk_bytes',
      );
    }
    for (const { id, disk, floor, ageMs } of this.judgedVoters()) {
      if (disk.freeBytes - needs >= floor) continue;
      const whose = disk.floorBytes > minFreeBytes ? `${id}'s` : `${self}'s (the leader's)`;
      throw new ServiceFailure(
        'NO_SPACE',
        `${what} refused: the disk of ${id}'s data dir has ${disk.freeBytes} bytes free (as ${id} answered ${Math.round(ageMs)}ms ago), ` +
          `and this write needs about ${needs} above controller.min_free_disk_bytes ${floor} (${whose}); ${tail}` +
          `Free disk space on ${id}, delete keys, or lower controller.min_free_disk_bytes (each voter's disk is judged against the higher of its own and the leader's)`,
      );
    }
  }
}
