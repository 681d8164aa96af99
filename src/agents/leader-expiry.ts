/**
 * The leader's rule for agents whose controller nobody hears from: that controller cannot report
 * them (it is dead, paused or cut off), so the leader reports them offline once the controller
 * has been silent for the agent's timeout, its grace, and an election timeout (a claim by the
 * agent's new controller may need a new leader to commit, and must not lose to this report).
 * Each report is conditional on the record's stream, like any other.
 */
import type { AgentRecord, DisconnectEntry } from '../statemachine/index.js';
import { departureGraceMs } from './departures.js';

/** A report not committed within this long is made again. */
export const EXPIRY_RETRY_MS = 5_000;

export interface ExpiryInput {
  readonly self: string;
  readonly records: readonly AgentRecord[];
  readonly controller: (id: string) => { readonly online: boolean; readonly silentMs: number | null };
  readonly pingIntervalMs: number;
  readonly electionTimeoutMs: number;
  /**
   * The detector's max_timeout: no honest controller reports a longer timeout, so a record's is
   * read as at most this (a member's key once reported 2^31-1 ms, keeping a phantom agent
   * online for 24 days).
   */
  readonly maxTimeoutMs: number;
  readonly now: number;
}

export class LeaderExpiry {
  /** Sessions reported and when, so a report is not repeated while it commits. */
  private readonly reported = new Map<string, number>();

  /** The disconnects to report now; call only while leading. */
  due(input: ExpiryInput): DisconnectEntry[] {
    for (const [session, at] of this.reported) if (input.now - at > EXPIRY_RETRY_MS) this.reported.delete(session);
    const out: DisconnectEntry[] = [];
    for (const rec of input.records) {
      if (!rec.online || rec.controller === input.self || this.reported.has(rec.session)) continue;
      const c = input.controller(rec.controller);
      if (c.online) continue;
      const timeoutMs = Math.min(rec.timeoutMs, input.maxTimeoutMs);
      const limit = timeoutMs + departureGraceMs(timeoutMs, input.pingIntervalMs) + input.electionTimeoutMs;
      if (c.silentMs !== null && c.silentMs <= limit) continue;
      this.reported.set(rec.session, input.now);
      const silent = c.silentMs === null ? 'never heard from' : `silent for ${Math.round(c.silentMs)}ms`;
      out.push({ op: 'disconnect', id: rec.id, session: rec.session, reason: `controller ${rec.controller} unreachable (${silent})`, pushes: 0 });
    }
    return out;
  }

  /** Ages out old reports even while not leading. */
  forget(now: number): void {
    for (const [session, at] of this.reported) if (now - at > EXPIRY_RETRY_MS) this.reported.delete(session);
  }
}
