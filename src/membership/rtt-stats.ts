/**
 * Round-trip statistics for one peer: a moving average over the last `window` samples (what the
 * adaptive timeout uses) and percentiles for reporting. Percentiles come from HdrHistogram (the
 * pure-JS build, so construction is synchronous) and cover the recent past only: two histograms
 * take turns, each filled with up to `phaseSamples` samples, and a report merges the two, so a
 * slow spell an hour ago does not haunt p99 forever.
 */
import { build, type Histogram } from 'hdr-histogram-js';
import { requireNonNegative, requirePositiveInt } from './errors.js';

export interface RttStatsOptions {
  /** Samples in the moving average. */
  readonly window: number;
  /** Samples per histogram phase; default 1024. */
  readonly phaseSamples?: number;
}

/** Histogram resolution: microseconds, so sub-millisecond loopback RTTs stay visible. */
const US_PER_MS = 1_000;
/** A minute; larger samples are clamped so one absurd value cannot resize the histogram. */
const MAX_RECORDED_US = 60_000 * US_PER_MS;

function newHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    useWebAssembly: false,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_RECORDED_US,
    numberOfSignificantValueDigits: 2,
  });
}

export class RttStats {
  private readonly ring: Float64Array;
  private readonly phaseSamples: number;
  private next = 0;
  private filled = 0;
  private sum = 0;
  private current = newHistogram();
  private previous = newHistogram();
  private merged: Histogram | null = null;

  constructor(options: RttStatsOptions) {
    this.ring = new Float64Array(requirePositiveInt('rtt window', options.window));
    this.phaseSamples = requirePositiveInt('rtt histogram phase samples', options.phaseSamples ?? 1024);
  }

  record(rttMs: number): void {
    requireNonNegative('rtt sample (ms)', rttMs);
    const evicted = this.filled === this.ring.length ? (this.ring[this.next] ?? 0) : 0;
    this.ring[this.next] = rttMs;
    this.next = (this.next + 1) % this.ring.length;
    this.filled = Math.min(this.filled + 1, this.ring.length);
    // Re-summing once per lap keeps floating-point drift from accumulating over days.
    this.sum = this.next === 0 ? this.ring.reduce((a, b) => a + b, 0) : this.sum - evicted + rttMs;

    if (this.current.totalCount >= this.phaseSamples) {
      const spare = this.previous;
      spare.reset();
      this.previous = this.current;
      this.current = spare;
    }
    this.current.recordValue(Math.min(MAX_RECORDED_US, Math.max(1, Math.round(rttMs * US_PER_MS))));
    this.merged?.destroy();
    this.merged = null;
  }

  get samples(): number {
    return this.filled;
  }

  /** The mean of the last `window` samples; 0 before the first one. */
  movingAverageMs(): number {
    return this.filled === 0 ? 0 : this.sum / this.filled;
  }

  /** The `percentile` (0-100) of recent samples in ms, or null before the first one. */
  percentileMs(percentile: number): number | null {
    const h = this.recent();
    if (h.totalCount === 0) return null;
    return h.getValueAtPercentile(percentile) / US_PER_MS;
  }

  /** Frees the histograms; the stats must not be used afterwards. */
  destroy(): void {
    this.current.destroy();
    this.previous.destroy();
    this.merged?.destroy();
    this.merged = null;
  }

  private recent(): Histogram {
    if (this.previous.totalCount === 0) return this.current;
    if (this.merged === null) {
      const m = newHistogram();
      m.add(this.previous);
      m.add(this.current);
      this.merged = m;
    }
    return this.merged;
  }
}
