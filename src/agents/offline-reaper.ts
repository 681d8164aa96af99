/**
 * Agents gone for good: a record offline for longer than `controller.agent_reconnect_timeout` (Consul's
 * reconnect_timeout, 72 h by default) is forgotten, so `list agents` and the record tables do not
 * keep every agent id ever seen (autoscaled fleets with unique hostnames churn through them).
 *
 * Every controller keeps the clocks, from the records it applies, so a new leader goes on from
 * where it saw each agent go offline. A restart or a snapshot starts them afresh: an agent is
 * forgotten later than its timeout, never earlier. Only the leader proposes; each forget names
 * the record's stream, so an agent that is back by the time it commits keeps its record.
 *
 * A record offline is not an agent gone: its claim on another controller may wait there, behind
 * a leader that controller cannot reach (offline-check.ts), and a claim that commits after the
 * forget starts a fresh record. So a forget due is first checked against the live rows of every
 * controller (the hub asks); an agent found live, or departing, anywhere has its clock started
 * again and is asked about at every scan until it is found nowhere, when its clock starts once
 * more: it is forgotten a whole timeout after it was last seen with a stream, never earlier
 * (seed 50896 of the agents' simulation, --driver: forgotten 50 ms after it lost a stream it
 * had held for 2 s on a controller that heard no leader).
 */
import type { AgentRecord, ForgetEntry } from '../statemachine/index.js';
import { formatDuration } from '../config/duration.js';

import { DEFAULTS } from '../config/defaults.js';

export const DEFAULT_RECONNECT_TIMEOUT_MS = DEFAULTS.agentReconnectTimeoutMs;
/** A forget not committed within this long is proposed again. */
export const REAP_RETRY_MS = 5_000;
/** Forgets per scan: each one is an entry of a report, applied on every controller. */
export const MAX_REAPED_PER_SCAN = 1_000;

interface OfflineSince {
  readonly session: string;
  /** When its spell without a stream began, as far as this controller knows. */
  at: number;
  /** Found live somewhere when last asked about: asked about at every scan until it is not. */
  watched: boolean;
}

export class OfflineReaper {
  private readonly since = new Map<string, OfflineSince>();
  /** Agent -> when its forget was proposed, so it is not repeated while it commits. */
  private readonly proposed = new Map<string, number>();
  private lastScanAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly timeoutMs: number) {}

  /** How often the records are walked: often enough for the timeout, rarely for a long one. */
  get scanEveryMs(): number {
    return Math.min(10_000, Math.max(250, Math.floor(this.timeoutMs / 4)));
  }

  /** Offline records being timed (for the metric). */
  get tracked(): number {
    return this.since.size;
  }

  /**
   * Times the offline records (every controller); when `leading` and the cluster may forget,
   * returns the forgets to check now (foundLive, foundGone): those due, and those watched.
   */
  scan(records: readonly AgentRecord[], now: number, leading: boolean, mayForget: boolean): ForgetEntry[] {
    if (now - this.lastScanAt < this.scanEveryMs) return [];
    this.lastScanAt = now;
    const seen = new Set<string>();
    const out: ForgetEntry[] = [];
    for (const rec of records) {
      if (rec.online) continue;
      seen.add(rec.id);
      let s = this.since.get(rec.id);
      if (s?.session !== rec.session) this.since.set(rec.id, (s = { session: rec.session, at: now, watched: false }));
      if (!leading || !mayForget || (!s.watched && now - s.at < this.timeoutMs) || out.length >= MAX_REAPED_PER_SCAN) continue;
      const asked = this.proposed.get(rec.id);
      if (asked !== undefined && now - asked < REAP_RETRY_MS) continue;
      this.proposed.set(rec.id, now);
      out.push({ op: 'forget', id: rec.id, session: rec.session, reason: `offline for more than ${formatDuration(this.timeoutMs)} (controller.agent_reconnect_timeout)` });
    }
    // Online again, or forgotten: no clock, nothing in flight.
    for (const id of this.since.keys()) if (!seen.has(id)) this.since.delete(id);
    for (const id of this.proposed.keys()) if (!seen.has(id)) this.proposed.delete(id);
    return out;
  }

  /** The agent of a forget checked is live (or departing) on some controller: its clock starts again now, and it is watched. */
  foundLive(entry: ForgetEntry, now: number): void {
    const s = this.since.get(entry.id);
    if (s?.session !== entry.session) return;
    s.at = now;
    s.watched = true;
    this.proposed.delete(entry.id);
  }

  /**
   * The agent of a forget checked is live nowhere: whether to forget it now. One watched was
   * found live at the last scan and left since: its clock starts again now instead.
   */
  foundGone(entry: ForgetEntry, now: number): boolean {
    const s = this.since.get(entry.id);
    if (s?.session !== entry.session) return false;
    if (!s.watched) return now - s.at >= this.timeoutMs;
    s.at = now;
    s.watched = false;
    this.proposed.delete(entry.id);
    return false;
  }
}
