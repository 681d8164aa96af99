/**
 * How large a controller's report may grow, encoded. A report goes through Raft as one entry, and
 * one larger than an entry may be (MAX_ENCODED_COMMAND_BYTES) can never commit: its controller
 * would send it again for ever and, its reports unanswered, shed every agent. So reports are cut
 * to half an entry (room for the envelope: kind, controller, client tag, the leader's clock), and
 * every item that goes into one is bounded far below that (an agent's record entry by its
 * fields' limits, a publish by MAX_PUBLISH_BYTES), so the first item always fits.
 */
import { MAX_ENCODED_COMMAND_BYTES } from '../statemachine/index.js';

export const REPORT_BUDGET_BYTES = Math.floor(MAX_ENCODED_COMMAND_BYTES / 2);

/** The services one agent's hello may publish, encoded: a quarter of a report. */
export const MAX_PUBLISH_BYTES = 256 * 1024;

/** The bytes `value` takes in a report (JSON, UTF-8). */
export function encodedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** Bytes left in one report: an item is taken while it fits, and the first always is. */
export class ByteBudget {
  private used = 0;

  constructor(private readonly limit: number = REPORT_BUDGET_BYTES) {}

  take(bytes: number): boolean {
    if (this.used > 0 && this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
}
