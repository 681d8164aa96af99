/**
 * The last `capacity` numbers recorded, in a fixed-size ring: their mean in O(1) (a running sum,
 * re-summed once per lap so floating-point drift cannot build up over days) and, on request,
 * their percentiles. No allocation per sample, so a ring per peer costs only its array.
 *
 * The array is a plain array of doubles, not a Float64Array: a controller holds one ring per
 * connected agent, and a typed array's view, buffer object and off-heap store cost about 200
 * bytes more than the same numbers in an array (docs/benchmarks.md, "Agents").
 */
export class SampleRing {
  private readonly values: number[];
  private next = 0;
  private filled = 0;
  private sum = 0;
  /** The samples sorted, kept until the next one: a status answer asks for p50 and p99 of
   * every peer, and pollers ask many times between two pings. Only rings asked for
   * percentiles (controllers' peers, not agents) ever hold one. */
  private sorted: number[] | null = null;

  constructor(capacity: number) {
    this.values = new Array<number>(Math.max(1, capacity)).fill(0);
  }

  record(value: number): void {
    const evicted = this.filled === this.values.length ? (this.values[this.next] ?? 0) : 0;
    this.values[this.next] = value;
    this.sorted = null;
    this.next = (this.next + 1) % this.values.length;
    this.filled = Math.min(this.filled + 1, this.values.length);
    this.sum = this.next === 0 ? this.values.reduce((a, b) => a + b, 0) : this.sum - evicted + value;
  }

  get count(): number {
    return this.filled;
  }

  /** The mean of the samples held; 0 before the first one. */
  mean(): number {
    return this.filled === 0 ? 0 : this.sum / this.filled;
  }

  /**
   * The nearest-rank `percentile` (0-100) of the samples held, or null before the first one.
   * Sorts a copy once per new sample: meant for reports, not for every sample.
   */
  percentile(percentile: number): number | null {
    if (this.filled === 0) return null;
    const sorted = (this.sorted ??= this.values.slice(0, this.filled).sort((a, b) => a - b));
    const rank = Math.ceil((Math.min(100, Math.max(0, percentile)) / 100) * this.filled);
    return sorted[Math.max(0, rank - 1)] ?? null;
  }
}
