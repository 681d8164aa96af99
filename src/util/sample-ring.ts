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
  /**
   * The samples in ascending order, made at the first percentile asked and from then on kept
   * in order as samples come and go (a binary search and a move of at most `capacity` numbers
   * each), so a status answer, asked for p50 and p99 of every peer as often as pollers like,
   * never sorts. Only rings asked for percentiles (controllers' peers, not agents) hold one.
   */
  private sorted: number[] | null = null;

  constructor(capacity: number) {
    this.values = new Array<number>(Math.max(1, capacity)).fill(0);
  }

  record(value: number): void {
    const full = this.filled === this.values.length;
    const evicted = full ? (this.values[this.next] ?? 0) : 0;
    this.values[this.next] = value;
    if (this.sorted !== null) {
      if (full) this.sorted.splice(lowerBound(this.sorted, evicted), 1);
      this.sorted.splice(lowerBound(this.sorted, value), 0, value);
    }
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

  /** The nearest-rank `percentile` (0-100) of the samples held, or null before the first one. */
  percentile(percentile: number): number | null {
    if (this.filled === 0) return null;
    // A typed array sorts numerically in native code, without a comparator's calls.
    const sorted = (this.sorted ??= Array.from(Float64Array.from(this.values.slice(0, this.filled)).sort()));
    const rank = Math.ceil((Math.min(100, Math.max(0, percentile)) / 100) * this.filled);
    return sorted[Math.max(0, rank - 1)] ?? null;
  }
}

/** The first index of `sorted` whose value is not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
