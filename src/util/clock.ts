/**
 * Time comes in from outside, so the drivers (src/node/raft-host.ts, membership-driver.ts) run
 * unchanged on real timers in production and on simulated time in the simulations
 * (test/sim/sim-time.ts), where every timer is an event of the seeded schedule.
 */

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
  /** Runs `fn` every `ms` (the first time `ms` from now). */
  every(ms: number, fn: () => void): Timer;
  /** Runs `fn` once the current event's callback has returned, before the next event. */
  soon(fn: () => void): void;
}

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
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  // A microtask, not setImmediate: what the Ready loop writes from here (an answer, an Append)
  // is then flushed by HTTP/2 in this turn's check phase. From a setImmediate, nghttp2's
  // flush (a native immediate) waited for the next turn, after all I/O ready meanwhile.
  // Group commit does not depend on it: messages arriving while a write is in flight are
  // all taken by the Ready after it.
  soon(fn) {
    queueMicrotask(fn);
  },
};
