/** Time comes in from outside so the deterministic core can run on simulated time. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };
