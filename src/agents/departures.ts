/**
 * Agents gone from this controller but still within their grace to reappear on any controller.
 * A departure ends in one of three ways: the agent comes back here (deleted), a claim elsewhere
 * commits (deleted), or its deadline passes while the record still names the departed stream
 * (then the agent is reported offline).
 */
import type { LocalRejection } from './session.js';
import type { LiveAgent } from './types.js';

export interface Departure {
  readonly session: string;
  readonly deadline: number;
  readonly reason: string;
  readonly lastHeardAt: number;
  readonly timeoutMs: number;
  /** A NACK taken on that stream: a reconnect here must not be pushed that version again. */
  readonly rejected: LocalRejection | null;
}

/**
 * The grace a departed agent has to reappear on any controller before it counts as offline:
 * half its timeout, at least two ping intervals. Its reconnect takes milliseconds when its
 * controller closed the stream or died, and about one timeout when the stream went quiet.
 */
export function departureGraceMs(timeoutMs: number, pingIntervalMs: number): number {
  return Math.max(2 * pingIntervalMs, Math.round(timeoutMs / 2));
}

/**
 * How long past its deadline a departure whose agent had no record yet waits for this
 * controller's claim of its stream to commit (held in a report: no leader heard, say). A claim
 * committed later still goes offline at the reconcile round after it (hub.ts reconcile).
 */
export const LATE_CLAIM_WAIT_MS = 60_000;

export class Departures {
  private readonly byAgent = new Map<string, Departure>();
  /**
   * Departures that came due while their agent had no record: the claim of that stream, which
   * this controller still sends (the claim that makes the record), may commit after its grace.
   */
  private readonly unrecorded = new Map<string, Departure>();

  constructor(private readonly pingIntervalMs: number) {}

  get size(): number {
    return this.byAgent.size;
  }

  has(agent: string): boolean {
    return this.byAgent.has(agent);
  }

  get(agent: string): Departure | undefined {
    return this.byAgent.get(agent);
  }

  delete(agent: string): void {
    this.byAgent.delete(agent);
    this.unrecorded.delete(agent);
  }

  agents(): string[] {
    return [...this.byAgent.keys()];
  }

  /** The stream of `agent` is gone; its grace runs from its timeout after its last contact. */
  depart(agent: string, session: string, lastHeardAt: number, timeoutMs: number, now: number, reason: string, rejected: LocalRejection | null = null): void {
    const deadline = Math.max(now, lastHeardAt + timeoutMs) + departureGraceMs(timeoutMs, this.pingIntervalMs);
    this.unrecorded.delete(agent);
    this.byAgent.set(agent, { session, deadline, reason, lastHeardAt, timeoutMs, rejected });
  }

  /** `d` came due while its agent had no record: it waits for the claim of its stream (claimedLate). */
  awaitRecord(agent: string, d: Departure): void {
    this.unrecorded.set(agent, d);
  }

  /** Whether some due departure waits for its agent's record. */
  get awaitingRecords(): number {
    return this.unrecorded.size;
  }

  /**
   * Removes and returns the departures waiting for a record that now names their stream (the
   * late claim committed: the agent is gone, report it); drops those whose agent was recorded on
   * another stream, and those that waited LATE_CLAIM_WAIT_MS.
   */
  claimedLate(now: number, recorded: (agent: string) => { readonly session: string; readonly online: boolean } | null): Array<[string, Departure]> {
    const out: Array<[string, Departure]> = [];
    for (const [agent, d] of this.unrecorded) {
      const rec = recorded(agent);
      if (rec === null && now - d.deadline <= LATE_CLAIM_WAIT_MS) continue;
      this.unrecorded.delete(agent);
      if (rec !== null && rec.online && rec.session === d.session) out.push([agent, d]);
    }
    return out;
  }

  /** Removes and returns the departures whose grace has run out. */
  due(now: number): Array<[string, Departure]> {
    const out: Array<[string, Departure]> = [];
    for (const [agent, d] of this.byAgent) {
      if (now < d.deadline) continue;
      this.byAgent.delete(agent);
      out.push([agent, d]);
    }
    return out;
  }

  /** Live rows for `list agents`: these agents are not offline yet. */
  live(now: number, controller: string): LiveAgent[] {
    const rows: LiveAgent[] = [];
    for (const [id, d] of this.byAgent) {
      if (now < d.deadline) rows.push({ id, controller, session: d.session, lastContactMs: Math.round(now - d.lastHeardAt), heartbeatTimeoutMs: d.timeoutMs, departing: true, publish: null });
    }
    return rows;
  }
}
