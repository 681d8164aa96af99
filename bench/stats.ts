/** Latency histograms (HdrHistogram, in microseconds) and the small statistics the report needs. */
import hdr from 'hdr-histogram-js';

/** 1 µs to 60 s at 3 significant digits; pure JS so it runs everywhere without WebAssembly. */
export function histogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    useWebAssembly: false,
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
  });
}

/** Records a duration given in ms (clamped to the histogram's range). */
export function recordMs(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.min(60_000_000, Math.max(1, Math.round(ms * 1000))));
}

/** The value at percentile p (0-100) in ms; 0 for an empty histogram. */
export function percentileMs(h: hdr.Histogram, p: number): number {
  return h.totalCount === 0 ? 0 : h.getValueAtPercentile(p) / 1000;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile of a small sample (p in 0-100). */
export function samplePercentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
