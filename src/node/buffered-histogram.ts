/**
 * A prom-client histogram whose observations wait in a plain array until the histogram is read
 * (a scrape) or the array is full. prom-client's observe builds a closure, checks and hashes the
 * labels and looks the series up on every call: three histograms observed per put on every member
 * (the write's fsync, the apply, on the leader the proposal) were 1-2% of a member's main thread
 * under put-1, run cold between a put's other steps. Replayed in a loop when read, the same calls
 * run hot, and the exposition is what observing each value at once gave (the sum adds the values
 * in the same order).
 */
import client from 'prom-client';

/** Observations held before they are passed on: 8 KB, a few seconds of puts at most. */
const HELD = 1024;

export type BufferedHistogramConfiguration = Omit<client.HistogramConfiguration<string>, 'collect' | 'labelNames'>;

export class BufferedHistogram {
  private readonly held = new Float64Array(HELD);
  private count = 0;
  private readonly histogram: client.Histogram;

  constructor(config: BufferedHistogramConfiguration) {
    const flush = (): void => this.flush();
    this.histogram = new client.Histogram({
      ...config,
      collect() {
        flush();
      },
    });
  }

  /** A value that is no finite number is dropped (prom-client would throw at the read, failing the whole scrape). */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    if (this.count === HELD) this.flush();
    this.held[this.count++] = value;
  }

  private flush(): void {
    const n = this.count;
    this.count = 0;
    for (let i = 0; i < n; i++) this.histogram.observe(this.held[i]!);
  }
}
