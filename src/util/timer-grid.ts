/**
 * Periodic work of one process on a shared grid: work repeated every `ms` falls due at the
 * multiples of `ms` on the monotonic clock, and one wake-up serves all of it. Periods that
 * divide each other (Raft's 50 ms tick, the 50 ms membership observation, 100 ms and 250 ms
 * rounds) then fall due in the same turn of the event loop, and an idle process wakes once per
 * turn instead of once per timer: each wake-up of a sleeping process costs far more CPU than
 * the few microseconds of work most ticks do (a context switch; on a virtual machine, an exit
 * to the hypervisor).
 */
import type { Timer } from './clock.js';

/** What the grid needs from outside: a monotonic clock and one-shot wake-ups. */
export interface GridPort {
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  wakeAfter(ms: number, fn: () => void): Timer;
  /** Reports a callback's failure without stopping the others of its turn. */
  fail(err: unknown): void;
}

interface Periodic {
  readonly ms: number;
  next: number;
  readonly fn: () => void;
}

/** Work due this close to a turn runs in it rather than in a wake-up of its own. */
export const SAME_TURN_MS = 2;

export class TimerGrid {
  private readonly entries = new Set<Periodic>();
  private wake: Timer | null = null;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly port: GridPort) {}

  /** Runs `fn` at every multiple of `ms` (rounded to whole milliseconds, at least 1). */
  every(ms: number, fn: () => void): Timer {
    const period = Math.max(1, Math.round(ms));
    const p: Periodic = { ms: period, next: nextMultiple(this.port.now(), period), fn };
    this.entries.add(p);
    this.arm();
    return {
      cancel: () => {
        this.entries.delete(p);
        if (this.entries.size === 0) this.disarm();
      },
    };
  }

  private disarm(): void {
    this.wake?.cancel();
    this.wake = null;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private arm(): void {
    let due = Number.POSITIVE_INFINITY;
    for (const p of this.entries) due = Math.min(due, p.next);
    if (due === Number.POSITIVE_INFINITY || due >= this.armedFor) return;
    this.disarm();
    this.armedFor = due;
    this.wake = this.port.wakeAfter(Math.max(1, Math.ceil(due - this.port.now())), () => this.fire());
  }

  private fire(): void {
    this.wake = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.port.now();
    const due = [...this.entries].filter((p) => p.next <= now + SAME_TURN_MS);
    // Work run early is next due one period on; a late turn skips the instants it missed, as
    // setInterval does.
    for (const p of due) p.next = nextMultiple(Math.max(p.next, now), p.ms);
    this.arm();
    for (const p of due) {
      if (!this.entries.has(p)) continue; // cancelled by an earlier callback of this turn
      try {
        p.fn();
      } catch (err) {
        this.port.fail(err);
      }
    }
  }
}

function nextMultiple(t: number, ms: number): number {
  return (Math.floor(t / ms) + 1) * ms;
}
