/**
 * A token bucket: at most `perSecond` takes a second on average, `burst` at once after a quiet
 * spell. Pure: time comes in (milliseconds, monotonic), so tests drive it without waiting.
 */
export class RateBudget {
  private tokens: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private refilledAt: number,
  ) {
    this.tokens = burst;
  }

  /** Spends a token if one is available at `now`. */
  take(now: number): boolean {
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
