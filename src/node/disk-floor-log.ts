/**
 * Logs a controller's own disk crossing its `controller.min_free_disk_bytes`, once each way: a
 * follower's disk is judged only while a leader asks it (voter-disks.ts), and a follower that
 * fills stops (exit 1), so its own log says so first, whoever leads.
 */
import type { Logger } from 'pino';
import type { DiskFloor } from '../api/disk-floor.js';

export class DiskFloorLog {
  private below = false;

  constructor(
    private readonly floor: Pick<DiskFloor, 'observe' | 'ownShortfall'>,
    private readonly logger: Pick<Logger, 'warn' | 'info'>,
  ) {}

  /** Takes a new reading of the data dir's free bytes, and logs a crossing of the floor. */
  observe(freeBytes: number): void {
    this.floor.observe(freeBytes);
    const shortfall = this.floor.ownShortfall();
    if (shortfall !== null && !this.below) this.logger.warn({ code: 'DISK_BELOW_FLOOR', freeBytes }, shortfall);
    if (shortfall === null && this.below) this.logger.info({ code: 'DISK_ABOVE_FLOOR', freeBytes }, `the data dir's disk has ${freeBytes} bytes free again, at or above controller.min_free_disk_bytes`);
    this.below = shortfall !== null;
  }
}
