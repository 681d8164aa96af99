/**
 * How many extra ping rounds a node may push ahead of its regular ones: a token bucket with a
 * burst of `PUSH_BURST` that refills one token per ping interval. A node that sees a member
 * fail pushes the news at once; a link that flaps every few ms costs its peers at most one
 * extra round per interval (on top of the burst), never one per flap. Pure: time comes in.
 */
export const PUSH_BURST = 2;

export class PushBudget {
  private tokens = PUSH_BURST;

  constructor(
    private readonly refillEveryMs: number,
    private refilledAt: number,
  ) {}

  /** Spends a token if one is available at `now`. */
  take(now: number): boolean {
    if (now > this.refilledAt) {
      this.tokens = Math.min(PUSH_BURST, this.tokens + (now - this.refilledAt) / this.refillEveryMs);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
