/**
 * How late the event loop runs its timers, read from the wake-ups of the periodic-timer grid
 * (beat-grid.ts): each records how long after its beat it came. A running controller's grid
 * wakes the loop every 50 ms anyway, so the reading costs no wake-up of its own, where a
 * sampling timer (perf_hooks.monitorEventLoopDelay, prom-client's default) adds ten a second
 * at a 100 ms resolution, about a sixth of an idle member's wake-ups.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** One reader's samples since its last `take` (each /metrics registry has its own). */
export interface LagWindow {
  /** Min, max, mean, stddev and percentiles in seconds since the last take, then reset; null without samples. */
  take(): LagStats | null;
  /** The last wake-up's lateness, seconds (0 before any). */
  readonly lastSeconds: number;
  close(): void;
}

export interface LagStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

const NS_PER_S = 1e9;

class Window implements LagWindow {
  readonly hist: RecordableHistogram = createHistogram();

  constructor(private readonly lag: LoopLag) {}

  take(): LagStats | null {
    const h = this.hist;
    if (h.count === 0) return null;
    const s = (ns: number): number => ns / NS_PER_S;
    const stats = { min: s(h.min), max: s(h.max), mean: s(h.mean), stddev: s(h.stddev), p50: s(h.percentile(50)), p90: s(h.percentile(90)), p99: s(h.percentile(99)) };
    h.reset();
    return stats;
  }

  get lastSeconds(): number {
    return this.lag.lastSeconds;
  }

  close(): void {
    this.lag.drop(this);
  }
}

export class LoopLag {
  private readonly windows = new Set<Window>();
  private lastNs = 0;

  /** A wake-up came `lateMs` after its beat. */
  record(lateMs: number): void {
    // The histogram takes whole nanoseconds of at least 1.
    const ns = Math.max(1, Math.round(lateMs * 1e6));
    this.lastNs = ns;
    for (const w of this.windows) w.hist.record(ns);
  }

  get lastSeconds(): number {
    return this.lastNs / NS_PER_S;
  }

  window(): LagWindow {
    const w = new Window(this);
    this.windows.add(w);
    return w;
  }

  drop(w: LagWindow): void {
    if (w instanceof Window) this.windows.delete(w);
  }
}

/** The process's: fed by systemScheduler's grid (clock.ts). */
export const loopLag = new LoopLag();
