/**
 * Round-trip statistics for one peer: a moving average over the last `window` samples (what the
 * adaptive timeout uses) and percentiles over the last `recentSamples` (for reporting), so a
 * slow spell long ago does not haunt p99 forever.
 *
 * Percentiles are computed from the raw samples on request (a status answer, not every ping).
 * An HdrHistogram did this before; loading that library alone cost each controller about 7 MB
 * of resident memory, and exact percentiles over 1,024 samples need no histogram.
 */
import { SampleRing } from '../util/sample-ring.js';
import { requireNonNegative, requirePositiveInt } from './errors.js';

export interface RttStatsOptions {
  /** Samples in the moving average. */
  readonly window: number;
  /** Samples the percentiles cover; default 1024. */
  readonly recentSamples?: number;
}

export class RttStats {
  private readonly window: SampleRing;
  private readonly recent: SampleRing;

  constructor(options: RttStatsOptions) {
    this.window = new SampleRing(requirePositiveInt('rtt window', options.window));
    this.recent = new SampleRing(requirePositiveInt('rtt recent samples', options.recentSamples ?? 1024));
  }

  record(rttMs: number): void {
    requireNonNegative('rtt sample (ms)', rttMs);
    this.window.record(rttMs);
    this.recent.record(rttMs);
  }

  get samples(): number {
    return this.window.count;
  }

  /** The mean of the last `window` samples; 0 before the first one. */
  movingAverageMs(): number {
    return this.window.mean();
  }

  /** The `percentile` (0-100) of the last `recentSamples` in ms, or null before the first one. */
  percentileMs(percentile: number): number | null {
    return this.recent.percentile(percentile);
  }
}
