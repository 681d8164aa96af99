/**
 * What an agent tells the cluster about the names it resolves (`GET /resolve/NAME`), pure:
 *
 * - a miss (a name not in its configuration) is an observed dependency: sent at once, so the
 *   controller records it and pushes it within a commit; the same name is sent again at most
 *   once per `missResendMs` while it keeps missing (a dependency on a service that does not
 *   exist stays pending without a report loop);
 * - a hit on a dependency it did not declare counts as use (it postpones the expiry): sent in
 *   batches, at most once per `useBatchMs`.
 *
 * Bounded whatever the traffic: at most `maxPending` names of each kind wait, and at most
 * MAX_USAGE_NAMES go in one message; beyond, names are dropped and counted (an agent asked for
 * 10,000 unknown names reports a bounded number, and its record holds at most MAX_OBSERVED).
 * Messages are due at most once per MESSAGE_GAP_MS: a controller drops, unread, a stream's
 * usage messages past 50 a second after a burst of 100 (agents/hub.ts USAGE_PER_SECOND), so
 * misses of new names a few ms apart, each sent alone, lost the names past that budget.
 */
import { MAX_USAGE_NAMES } from '../statemachine/index.js';

export interface UsageReporterOptions {
  readonly missResendMs: number;
  readonly useBatchMs: number;
  readonly maxPending: number;
}

/** The least time between two usage messages: 40 a second, within a controller's 50 (and its burst of 100). */
export const MESSAGE_GAP_MS = 25;

export const DEFAULT_USAGE_OPTIONS: UsageReporterOptions = { missResendMs: 1_000, useBatchMs: 1_000, maxPending: 1_000 };

export interface UsageBatch {
  readonly missed: readonly string[];
  readonly used: readonly string[];
}

export class UsageReporter {
  private readonly missed = new Set<string>();
  private readonly used = new Set<string>();
  /** Name -> when its miss was last sent. */
  private readonly sentAt = new Map<string, number>();
  private lastUseBatchAt = Number.NEGATIVE_INFINITY;
  /** When the last message was taken (MESSAGE_GAP_MS after it, the next is due at the earliest). */
  private lastTakenAt = Number.NEGATIVE_INFINITY;
  /** Names dropped by the bounds, ever. */
  dropped = 0;

  constructor(private readonly opts: UsageReporterOptions = DEFAULT_USAGE_OPTIONS) {}

  miss(name: string, now: number): void {
    if (this.missed.has(name)) return;
    const sent = this.sentAt.get(name);
    if (sent !== undefined && now - sent < this.opts.missResendMs) return;
    if (this.missed.size >= this.opts.maxPending) {
      this.dropped++;
      return;
    }
    this.missed.add(name);
  }

  hit(name: string): void {
    if (this.used.has(name)) return;
    if (this.used.size >= this.opts.maxPending) {
      this.dropped++;
      return;
    }
    this.used.add(name);
  }

  /** When the next batch is due (ms, on the same clock as `now`); null: nothing waits. */
  dueAt(): number | null {
    const gap = this.lastTakenAt + MESSAGE_GAP_MS;
    if (this.missed.size > 0) return gap;
    if (this.used.size > 0) return Math.max(gap, this.lastUseBatchAt + this.opts.useBatchMs);
    return null;
  }

  /** The next message: every miss waiting (up to the bound), and the uses when their batch is due; null: nothing now. */
  take(now: number): UsageBatch | null {
    const missed = takeSome(this.missed);
    let used: string[] = [];
    if (this.used.size > 0 && now >= this.lastUseBatchAt + this.opts.useBatchMs) {
      used = takeSome(this.used);
      this.lastUseBatchAt = now;
    }
    if (missed.length === 0 && used.length === 0) return null;
    this.lastTakenAt = now;
    for (const n of missed) this.sentAt.set(n, now);
    this.prune(now);
    return { missed, used };
  }

  /** A message that could not be sent (no stream): its misses go back to wait for the next one. */
  putBack(batch: UsageBatch): void {
    for (const n of batch.missed) {
      this.sentAt.delete(n);
      if (this.missed.size < this.opts.maxPending) this.missed.add(n);
    }
    for (const n of batch.used) if (this.used.size < this.opts.maxPending) this.used.add(n);
  }

  private prune(now: number): void {
    if (this.sentAt.size <= this.opts.maxPending) return;
    for (const [n, t] of this.sentAt) if (now - t >= this.opts.missResendMs) this.sentAt.delete(n);
    // Still over: forget the oldest (at worst a name is re-sent a little early).
    for (const n of this.sentAt.keys()) {
      if (this.sentAt.size <= 4 * this.opts.maxPending) break;
      this.sentAt.delete(n);
    }
  }
}

function takeSome(set: Set<string>): string[] {
  const out: string[] = [];
  for (const n of set) {
    if (out.length >= MAX_USAGE_NAMES) break;
    out.push(n);
  }
  for (const n of out) set.delete(n);
  return out.sort();
}
