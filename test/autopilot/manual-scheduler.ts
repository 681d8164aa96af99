/** A Scheduler whose time moves only when the test says so: every timer fires in order, deterministically. */
import type { Scheduler, Timer } from '../../src/util/clock.js';

interface Pending {
  at: number;
  readonly seq: number;
  readonly every: number | null;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private readonly timers: Pending[] = [];

  constructor(private wallOffset = 1_700_000_000_000) {}

  /** Steps the wall clock by `ms` (a `date -s`, an NTP step) without moving the monotonic clock. */
  stepWallClock(ms: number): void {
    this.wallOffset += ms;
  }

  now(): number {
    return this.time;
  }

  wallClockMs(): number {
    return this.wallOffset + this.time;
  }

  after(ms: number, fn: () => void): Timer {
    return this.add(ms, null, fn);
  }

  every(ms: number, fn: () => void): Timer {
    return this.add(ms, ms, fn);
  }

  soon(fn: () => void): void {
    this.add(0, null, fn);
  }

  /** Runs every timer due within `ms`, in time order, then sets the time to now + ms. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.time = next.at;
      if (next.every === null) next.cancelled = true;
      else next.at += next.every;
      next.fn();
    }
    this.time = end;
  }

  private add(ms: number, every: number | null, fn: () => void): Timer {
    const t: Pending = { at: this.time + Math.max(0, ms), seq: this.seq++, every, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
}
