/**
 * Periodic timers on one grid. Each fires at whole multiples of its period counted from one
 * origin, and one timer of the event loop serves them all, so timers whose periods share
 * multiples (a member's 50, 100, 200, 250 and 500 ms duties) fire in the same wake-up.
 *
 * Why: an idle member's CPU is mostly wake-ups of its event loop, about 0.1 ms each on a
 * 2-vCPU host (docs/benchmarks.md, forty-fourth session), and separate setIntervals do not stay
 * together even when started together: each restarts from the moment its callback ran, so
 * their phases drift apart and every duty wakes the loop on its own (47 timer wake-ups a second
 * on an idle follower, against 20 on the grid).
 */
import type { Timer } from './clock.js';

/** The event loop's one-shot timer and clock, as the grid needs them (tests drive their own). */
export interface GridTimers<H> {
  now(): number;
  /** Runs `fn` once after `ms`; the handle is given back to `clear`. */
  set(fn: () => void, ms: number): H;
  clear(handle: H): void;
}

interface Beat {
  readonly period: number;
  readonly fn: () => void;
  /** When it fires next, a whole multiple of its period. */
  due: number;
}

/**
 * A beat due this close after the wake-up fires in it: the loop's timers keep whole
 * milliseconds, so a wake-up may come up to one early, and a beat left for the next would cost
 * a wake-up of its own a millisecond later.
 */
const SAME_WAKEUP_MS = 1;

export class BeatGrid<H> {
  private readonly beats = new Set<Beat>();
  private handle: H | null = null;
  /** When the armed timer fires; Infinity while none is armed. */
  private armedAt = Infinity;

  /** `onWake`: each wake-up's lateness after the earliest beat it fires, ms (loop-lag.ts). */
  constructor(
    private readonly timers: GridTimers<H>,
    private readonly onWake: (lateMs: number) => void = () => undefined,
  ) {}

  /**
   * Runs `fn` every `ms` on the grid: the first time at the first multiple of `ms` at least
   * `ms` from now (so never sooner than asked, and at most one period later), then every `ms`.
   * A wake-up late by more than a period skips the beats it missed, as setInterval does.
   */
  every(ms: number, fn: () => void): Timer {
    if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`a beat's period must be a positive number of ms, not ${ms}`);
    const beat: Beat = { period: ms, fn, due: Math.ceil((this.timers.now() + ms) / ms) * ms };
    this.beats.add(beat);
    this.arm();
    return {
      cancel: () => {
        if (this.beats.delete(beat) && this.beats.size === 0) this.disarm();
      },
    };
  }

  private arm(): void {
    let next = Infinity;
    for (const b of this.beats) next = Math.min(next, b.due);
    if (next >= this.armedAt) return;
    this.disarm();
    this.armedAt = next;
    this.handle = this.timers.set(() => this.fire(), Math.max(1, Math.ceil(next - this.timers.now())));
  }

  private disarm(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
    this.armedAt = Infinity;
  }

  private fire(): void {
    this.handle = null;
    this.armedAt = Infinity;
    const now = this.timers.now();
    const due = [...this.beats].filter((b) => b.due <= now + SAME_WAKEUP_MS);
    if (due.length > 0) this.onWake(Math.max(0, now - Math.min(...due.map((b) => b.due))));
    // The first multiple after this wake-up: the next one, or later when the wake-up came late.
    for (const b of due) b.due = (Math.floor((now + SAME_WAKEUP_MS) / b.period) + 1) * b.period;
    let failure: { readonly err: unknown } | null = null;
    for (const b of due) {
      if (!this.beats.has(b)) continue; // cancelled by a beat that ran before it
      try {
        b.fn();
      } catch (err) {
        failure ??= { err };
      }
    }
    this.arm();
    // A beat that throws does not keep the others from running; the error is still the
    // process's, as a setInterval callback's would be.
    if (failure !== null) throw failure.err;
  }
}
