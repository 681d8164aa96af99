/**
 * `controller.quota_bytes`, as etcd's `--quota-backend-bytes`: the leader refuses, before
 * proposing it, a write that would take the replicated state past the quota (NO_SPACE); deletes
 * and writes that do not grow the state pass, so an operator can always make room.
 *
 * The state lives in memory on every member and a snapshot is one JSON text, which V8 cannot
 * make past 512 MiB: without a bound, a client with write access could fill every member at
 * once, and every snapshot after that point would fail. The size counted is an upper bound of
 * the snapshot's length: kept as the state changes by the kinds that can grow large (kv, mesh,
 * agents) and by the exactly-once client table, and measured by serializing the others (members,
 * settings, the cluster version: a few KB) at most every MEASURE_OTHERS_EVERY_MS.
 *
 * The check runs on the leader only, so it is not part of the log. What the writes proposed on
 * this controller and not yet applied will add is reserved until they apply or fail (as
 * mesh-bound.ts does), so a burst cannot pass the quota all on the same room: 30 concurrent 1 MB
 * puts with 4.3 MB left were all acknowledged and took the state 36 MB past it before. A new
 * leader does not know its predecessor's writes in flight, and writes forwarded to a leader are
 * reserved there, so the overshoot is at most what one leader change leaves in flight.
 */
import type { DiskFloor } from './disk-floor.js';
import { ServiceFailure } from './service-error.js';

/** How often the kinds that keep no running size (members, settings, ...) are serialized to count them. */
export const MEASURE_OTHERS_EVERY_MS = 5_000;

/** Less than quota / FULL_BELOW_FRACTION left counts as full whatever was refused (a new leader refused nothing yet). */
export const FULL_BELOW_FRACTION = 100;

export interface SnapshotSized {
  snapshotLength(): { readonly kept: number; readonly measure: () => number };
}

export class StateQuota {
  private others = 0;
  private measuredAt = Number.NEGATIVE_INFINITY;
  /** Growth of the writes proposed here and not yet applied or given up. */
  private reservedBytes = 0;
  /** The smallest growth refused for the quota since the state last had room for it; null: none waits. */
  private refusedGrowth: number | null = null;

  constructor(
    readonly quotaBytes: number,
    private readonly state: SnapshotSized,
    private readonly now: () => number,
    /** The leader's free disk, judged before the quota (disk-floor.ts); absent: not judged. */
    private readonly disk?: DiskFloor,
  ) {}

  /** The state's size as last counted (an upper bound of its snapshot's length). */
  used(): number {
    const { kept, measure } = this.state.snapshotLength();
    const t = this.now();
    if (t - this.measuredAt >= MEASURE_OTHERS_EVERY_MS) {
      this.others = measure();
      this.measuredAt = t;
    }
    return kept + this.others;
  }

  /** Growth of the writes proposed here and not yet applied or given up. */
  reserved(): number {
    return this.reservedBytes;
  }

  /**
   * Throws NO_SPACE when `growth` more (snapshot length) would take the state, with the writes
   * reserved in flight, past the quota, or leave the leader's disk below its floor.
   */
  check(growth: number, what: string): void {
    if (growth <= 0) return;
    this.disk?.check(growth, what);
    const used = this.used();
    if (used + this.reservedBytes + growth <= this.quotaBytes) return;
    this.refusedGrowth = Math.min(this.refusedGrowth ?? growth, growth);
    const inFlight = this.reservedBytes > 0 ? `, ${this.reservedBytes} more proposed and not yet applied` : '';
    throw new ServiceFailure(
      'NO_SPACE',
      `${what} refused: the cluster's state would pass its quota (about ${used} bytes of controller.quota_bytes ${this.quotaBytes}${inFlight}, and this adds ${growth}); delete keys or resources, or raise controller.quota_bytes on every controller`,
    );
  }

  /**
   * Why the state counts as full now (NOSPACE, as etcd's alarm of that name): a write this
   * controller refused for the quota would still be refused, or less than a hundredth of the
   * quota is left; null otherwise. `ctl health` is unhealthy meanwhile: before, it stayed healthy
   * while every put of 100 KB was refused. Unlike etcd's alarm it clears by itself once room is
   * made (deletes), and a new leader knows only the second rule.
   */
  refusingWrites(): string | null {
    const used = this.used();
    const room = this.quotaBytes - used - this.reservedBytes;
    if (this.refusedGrowth !== null && this.refusedGrowth <= room) this.refusedGrowth = null;
    if (this.refusedGrowth === null && room >= this.quotaBytes / FULL_BELOW_FRACTION) return null;
    const refused = this.refusedGrowth === null ? '' : `; the leader refused a write adding ${this.refusedGrowth} bytes, and ${Math.max(0, room)} are left`;
    return (
      `NOSPACE: the cluster's state is at its quota (about ${used} bytes of controller.quota_bytes ${this.quotaBytes}${refused}): ` +
      'the leader refuses writes that grow it; delete keys or resources, or raise controller.quota_bytes on every controller'
    );
  }

  /**
   * Checks `growth` as check() does, then holds it until the write `propose` starts settles
   * (applied: the state's size has it by then; or given up), so that writes proposed meanwhile
   * are judged with it.
   */
  async guard<T>(growth: number, what: string, propose: () => Promise<T>): Promise<T> {
    this.check(growth, what);
    if (growth <= 0) return propose();
    this.reservedBytes += growth;
    try {
      return await propose();
    } finally {
      this.reservedBytes -= growth;
    }
  }
}
