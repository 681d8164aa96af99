/**
 * How long a push may take to reach its agent, so that neither side takes the wait for silence.
 * The pings written after a push queue behind it on the stream: over a slow link a big push
 * (a whole configuration of megabytes) kept both the agent's watchdog and our heartbeat timeout
 * from hearing anything, the agent reconnected, was sent the whole configuration again, and never
 * converged (attack round 7: 4.8 MB at 1 MB/s, a full push every 4 s for ever).
 */

/** The slowest link a push is given time for: 1 Mbit/s. */
export const PUSH_FLOOR_BYTES_PER_SECOND = 128 * 1024;

/** Pushes that take less than this at the floor need no allowance: the timeout covers them. */
export const PUSH_ALLOWANCE_FROM_MS = 250;

/** The time a push of `bytes` takes at the floor rate. */
export function pushTransferMs(bytes: number): number {
  return Math.ceil((bytes * 1000) / PUSH_FLOOR_BYTES_PER_SECOND);
}
