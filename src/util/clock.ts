/**
 * Time comes in from outside, so the drivers (src/node/raft-host.ts, membership-driver.ts) run
 * unchanged on real timers in production and on simulated time in the simulations
 * (test/sim/sim-time.ts), where every timer is an event of the seeded schedule.
 */
import { BeatGrid } from './beat-grid.js';
import { loopLag } from './loop-lag.js';

/** A timer that can be cancelled; cancelling twice, or after it fired, is harmless. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic: for intervals and deadlines. */
  now(): number;
  /** Milliseconds since the epoch: only for timestamps people read (audit events). */
  wallClockMs(): number;
}

export interface Scheduler extends Clock {
  /** Runs `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Timer;
  /**
   * Runs `fn` every `ms`, the first time at least `ms` from now. Node's timers put every such
   * timer on one grid (beat-grid.ts), so duties with common multiples wake the loop together.
   */
  every(ms: number, fn: () => void): Timer;
  /** Runs `fn` after the current event and whatever is already waiting (setImmediate). */
  soon(fn: () => void): void;
  /**
   * Runs `fn` as soon as the current event's callback has returned, before anything else
   * waiting (a microtask). Absent: `soon`. What runs there and writes to a socket is flushed by
   * HTTP/2 in this turn's check phase; from `soon` (setImmediate) it waits for the next turn.
   */
  asap?(fn: () => void): void;
}

/**
 * The process's periodic timers, on one grid counted from the epoch (the process's start on
 * the wall clock, then its monotonic clock), so that the members of a cluster beat together as
 * far as their clocks agree: a peer's heartbeat or ping then tends to arrive while the
 * receiver is awake for its own beat, instead of waking it once more.
 */
const grid = new BeatGrid<NodeJS.Timeout>({
  now: () => performance.timeOrigin + performance.now(),
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (t) => clearTimeout(t),
}, (lateMs) => loopLag.record(lateMs));

/** Node's timers. They do not keep the process alive: the servers and sockets do. */
export const systemScheduler: Scheduler = {
  now: () => performance.now(),
  wallClockMs: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    return grid.every(ms, fn);
  },
  soon(fn) {
    setImmediate(fn);
  },
  asap(fn) {
    queueMicrotask(fn);
  },
};
