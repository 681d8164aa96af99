/** Timers on a clock a test moves (src/api/deadline-timer.ts's DeadlineTimers). */
import type { DeadlineTimers } from '../../src/api/deadline-timer.js';

/** Timers on a clock the test moves: `armed` counts those set and not yet fired or cleared. */
export class ScriptedTimers implements DeadlineTimers {
  clock = 0;
  private next = 0;
  private readonly timers = new Map<number, { readonly at: number; readonly fire: () => void }>();
  /** The most armed at once. */
  most = 0;

  get armed(): number {
    return this.timers.size;
  }

  now(): number {
    return this.clock;
  }

  set(fire: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.clock + ms, fire });
    this.most = Math.max(this.most, this.timers.size);
    return id;
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves the clock to `to`, firing the timers due on the way, in order. */
  advanceTo(to: number): void {
    for (;;) {
      let due: [number, { readonly at: number; readonly fire: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= to && (due === null || entry[1].at < due[1].at)) due = entry;
      if (due === null) break;
      this.timers.delete(due[0]);
      this.clock = Math.max(this.clock, due[1].at);
      due[1].fire();
    }
    this.clock = to;
  }
}
