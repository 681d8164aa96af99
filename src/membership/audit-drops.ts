/**
 * Audit events this controller could not write to its audit store. The store is not the Raft
 * log: a failed write must not stop the controller, but the gap must not be silent either. The
 * count feeds `audit_events_dropped_total`, the summary rides on the Audit stream (so `ctl audit`
 * from this controller says its trail lacks events and to ask another controller), and the log
 * gets the first failure with its cause, then a line at most once a minute with the count, not
 * one per event (a full or read-only disk fails every event).
 *
 * Held in memory only: the store that would keep it is the one failing. Deterministic: the
 * caller passes the wall-clock time.
 */

/** What this controller's trail lacks since the process started. */
export interface AuditDropSummary {
  /** Events not persisted. */
  readonly count: number;
  /** Wall-clock ms of the first and the latest. */
  readonly firstMs: number;
  readonly lastMs: number;
  /** The latest write error, in a few words. */
  readonly cause: string;
}

/** A line to log now: the first failure, or the ones since the last line. */
export interface AuditDropLogLine {
  readonly first: boolean;
  /** Events dropped since the previous line (1 for the first). */
  readonly dropped: number;
  readonly total: number;
  readonly cause: string;
}

export type AuditDropListener = (summary: AuditDropSummary) => void;

/** At most one log line per this interval after the first. */
export const AUDIT_DROP_LOG_INTERVAL_MS = 60_000;

export class AuditDrops {
  private summaryNow: AuditDropSummary | null = null;
  private loggedAt = Number.NEGATIVE_INFINITY;
  private unlogged = 0;
  private readonly listeners = new Set<AuditDropListener>();

  constructor(private readonly logIntervalMs = AUDIT_DROP_LOG_INTERVAL_MS) {}

  /** Records one event not persisted; returns the line to log now, or null (one was logged within the interval). */
  record(cause: string, nowMs: number): AuditDropLogLine | null {
    const prev = this.summaryNow;
    const summary = { count: (prev?.count ?? 0) + 1, firstMs: prev?.firstMs ?? nowMs, lastMs: Math.max(prev?.lastMs ?? nowMs, nowMs), cause };
    this.summaryNow = summary;
    this.unlogged += 1;
    for (const l of this.listeners) l(summary);
    if (prev !== null && nowMs - this.loggedAt < this.logIntervalMs) return null;
    const line = { first: prev === null, dropped: this.unlogged, total: summary.count, cause };
    this.loggedAt = nowMs;
    this.unlogged = 0;
    return line;
  }

  /** Null while every event was persisted. */
  summary(): AuditDropSummary | null {
    return this.summaryNow;
  }

  /** Calls `listener` at each drop from now on; returns the unsubscribe function. */
  follow(listener: AuditDropListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}
