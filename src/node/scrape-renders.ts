/**
 * The bodies /metrics answers with: a new render while the budget allows, the latest render
 * past it. A render reads every gauge and formats ~40 KB; 64 keep-alive connections with
 * pipelined requests asked for ~600 a second, which slowed writes 0.5 -> 4.7 s and once cost a
 * leader its term. A scraper every few seconds, or a test polling, always gets a new render;
 * only a burst past the budget reuses, and what it reuses was started less than
 * 1000 / perSecond ms before (the bucket refills a token in that time), or is still rendering.
 * Pure: time comes in.
 */
import { RateBudget } from '../util/rate-budget.js';

/** Renders a second, on average, whatever the request rate. */
export const METRICS_RENDERS_PER_SECOND = 10;
/** Renders back to back after a quiet spell (a few scrapers, or a test, at once). */
export const METRICS_RENDER_BURST = 10;

export class ScrapeRenders<Body = string> {
  private readonly budget: RateBudget;
  /** The latest render started, finished or not; null before the first and after a failure. */
  private latest: Promise<Body> | null = null;

  constructor(
    private readonly render: () => Promise<Body>,
    now: number,
    private readonly onReused: () => void = () => undefined,
    perSecond = METRICS_RENDERS_PER_SECOND,
    burst = METRICS_RENDER_BURST,
  ) {
    this.budget = new RateBudget(perSecond, burst, now);
  }

  /** The body for a request that arrived at `now`. */
  body(now: number): Promise<Body> {
    const allowed = this.budget.take(now);
    if (!allowed && this.latest !== null) {
      this.onReused();
      return this.latest;
    }
    const next = this.render();
    this.latest = next;
    // A failed render is answered once (500), not reused.
    next.catch(() => {
      if (this.latest === next) this.latest = null;
    });
    return next;
  }
}
