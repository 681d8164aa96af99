/**
 * Which controller an agent tries next, and after how long. Pure: the outcome of the last
 * attempt in, the next attempt out; randomness (jitter) from an injected seeded Rng.
 *
 * - A session that worked and ended (its controller closed it, died, or went quiet): the next
 *   controller within 100 ms (jittered, so the agents of a controller that closes all its
 *   streams do not arrive at the next one in the same instant), not after a back-off.
 * - Attempts that never got a welcome: each next controller at once for one pass over the
 *   list, then exponential back-off with jitter (100 ms doubling to 2 s), so a dead cluster is
 *   not hammered and a herd of agents does not retry in step.
 * - Taken over by a newer connection of the same id, or refused (identity, bad message): wait
 *   5 s before trying again, so two processes with one id do not take the agent from each other
 *   in a tight loop.
 * - Welcomed by a controller of another cluster and refused (cluster-guard.ts): as a failed
 *   attempt, and that controller is not tried again for 5 s. Its answer lasts (it is another
 *   cluster), unlike a dead controller's: the others of the list go on at their pace meanwhile,
 *   and when only it is left the agent waits out its hold-off instead of the back-off's 2 s.
 *   Time comes in as `now` (monotonic ms).
 */
import type { Rng } from '../util/rng.js';

export type AttemptOutcome =
  | 'ended' // welcomed, then the stream ended (UNAVAILABLE, closed, heartbeat timeout)
  | 'failed' // no welcome (refused to connect, cut off, at its limit, no answer)
  | 'taken-over' // ABORTED: a newer connection of this agent holds it
  | 'refused' // PERMISSION_DENIED or INVALID_ARGUMENT: retrying at once would only repeat it
  | 'resync' // this agent asked to start over on the same controller
  | 'foreign'; // welcomed by a controller of another cluster, refused (cluster-guard.ts): held off FOREIGN_HOLD_OFF_MS

export const BACKOFF_BASE_MS = 100;
/** A failed --out write is tried again after 1 s, doubling to 30 s (jittered). */
export const WRITE_RETRY_BASE_MS = 1_000;
export const WRITE_RETRY_MAX_MS = 30_000;
export const BACKOFF_MAX_MS = 2_000;
export const HOLD_OFF_MS = 5_000;
export const ENDED_JITTER_MS = 100;
/** A controller of another cluster is not tried again for this long after it welcomed this agent. */
export const FOREIGN_HOLD_OFF_MS = 5_000;

export class Failover {
  private index: number;
  private failures = 0;
  /** Controllers of another cluster, by index: the time (as `now`) before which they are not tried again. */
  private readonly heldOff = new Map<number, number>();

  constructor(
    private readonly count: number,
    start: number,
    private readonly rng: Rng,
  ) {
    if (count < 1) throw new RangeError('an agent needs at least one controller');
    this.index = ((start % count) + count) % count;
  }

  /** The controller to try now. */
  current(): number {
    return this.index;
  }

  /** After an attempt that ended at `now`: the controller to try next and the delay before trying it. */
  next(outcome: AttemptOutcome, now: number): { readonly index: number; readonly delayMs: number } {
    if (outcome === 'foreign') this.heldOff.set(this.index, now + FOREIGN_HOLD_OFF_MS);
    return this.skipHeldOff(this.step(outcome), now);
  }

  private step(outcome: AttemptOutcome): { readonly index: number; readonly delayMs: number } {
    switch (outcome) {
      case 'resync':
        return { index: this.index, delayMs: 0 };
      case 'ended':
        this.failures = 0;
        this.advance();
        return { index: this.index, delayMs: Math.floor(ENDED_JITTER_MS * this.rng.next()) };
      case 'failed':
      case 'foreign': {
        this.failures++;
        this.advance();
        if (this.failures < this.count) return { index: this.index, delayMs: 0 };
        const rounds = Math.floor(this.failures / this.count);
        const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (rounds - 1));
        return { index: this.index, delayMs: Math.round(ceiling * (0.8 + 0.4 * this.rng.next())) };
      }
      case 'taken-over':
        return { index: this.index, delayMs: HOLD_OFF_MS };
      case 'refused':
        this.advance();
        return { index: this.index, delayMs: HOLD_OFF_MS };
      default: {
        const never: never = outcome;
        return never;
      }
    }
  }

  private advance(): void {
    this.index = (this.index + 1) % this.count;
  }

  /**
   * `planned`, or the first controller after it in the list's order that is not held off when
   * the attempt would start; all held off: the one free soonest, once it is.
   */
  private skipHeldOff(planned: { readonly index: number; readonly delayMs: number }, now: number): { readonly index: number; readonly delayMs: number } {
    if (this.heldOff.size === 0) return planned;
    const at = now + planned.delayMs;
    for (const [index, until] of this.heldOff) if (until <= at) this.heldOff.delete(index);
    let soonest: { index: number; until: number } | null = null;
    for (let k = 0; k < this.count; k++) {
      const index = (planned.index + k) % this.count;
      const until = this.heldOff.get(index);
      if (until === undefined) {
        this.index = index;
        return { index, delayMs: planned.delayMs };
      }
      if (soonest === null || until < soonest.until) soonest = { index, until };
    }
    this.index = soonest!.index;
    return { index: soonest!.index, delayMs: Math.ceil(soonest!.until - now) };
  }
}

/** A stable spread of agents over controllers: the same id always starts at the same one. */
export function startIndex(id: string, count: number): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) % count;
}

/**
 * How long an agent whose `failures`-th write of --out in a row failed (a full disk, say) waits
 * before asking for the version again: the disk may have room by then, and a configuration the
 * agent could not write is one it never judged wrong.
 */
export function writeRetryDelayMs(failures: number, rng: Rng): number {
  const ceiling = Math.min(WRITE_RETRY_MAX_MS, WRITE_RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling * (0.8 + 0.4 * rng.next()));
}
