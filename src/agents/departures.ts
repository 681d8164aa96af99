/**
 * Agents gone from this controller but still within their grace to reappear on any controller.
 * A departure ends in one of three ways: the agent comes back here (deleted), a claim elsewhere
 * commits (deleted; one of this controller's own, of another stream gone from here, renames it),
 * or its deadline passes while the record still names the departed stream (then the agent is
 * reported offline). One whose deadline passes while the record names another
 * stream, or none, waits a while for this controller's own claim of its stream, which may commit
 * late (then the agent is reported offline as it commits).
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
 * How long a departure that came due while its agent's record did not name its stream waits for
 * a late claim of this controller's (held in a report: no leader heard, say), of its own stream
 * or of an older one of its agent (lateClaim). A claim committed later than that still goes
 * offline at the reconcile round after it (hub.ts reconcile).
 */
export const LATE_CLAIM_WAIT_MS = 60_000;

/**
 * Due departures kept waiting for a late claim at most, the one due longest ago forgotten first
 * (about 260 bytes each). Ten times the 10,000 agents a controller is tested connecting at once:
 * ids a client makes up (without TLS, any) cost this controller bounded memory; one forgotten
 * goes offline at the reconcile round after its claim commits, as before the wait existed.
 */
export const MAX_AWAITING_CLAIMS = 100_000;

export class Departures {
  private readonly byAgent = new Map<string, Departure>();
  /**
   * Departures that came due while the agent's record did not name their stream (no record yet,
   * or another stream's): this controller's claim of that stream may still commit, held in a
   * report, and name a stream gone. By agent, in the order they came due.
   */
  private readonly unclaimed = new Map<string, { readonly departure: Departure; readonly dueAt: number }>();

  constructor(
    private readonly pingIntervalMs: number,
    private readonly maxAwaitingClaims = MAX_AWAITING_CLAIMS,
  ) {}

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
    this.unclaimed.delete(agent);
  }

  agents(): string[] {
    return [...this.byAgent.keys()];
  }

  /** The stream of `agent` is gone; its grace runs from its timeout after its last contact. */
  depart(agent: string, session: string, lastHeardAt: number, timeoutMs: number, now: number, reason: string, rejected: LocalRejection | null = null): void {
    const deadline = Math.max(now, lastHeardAt + timeoutMs) + departureGraceMs(timeoutMs, this.pingIntervalMs);
    this.unclaimed.delete(agent);
    this.byAgent.set(agent, { session, deadline, reason, lastHeardAt, timeoutMs, rejected });
  }

  /**
   * The record names another stream of this controller gone too (its claim committed late):
   * the departure, its grace unchanged, now ends that one.
   */
  rename(agent: string, session: string): void {
    const d = this.byAgent.get(agent);
    if (d !== undefined) this.byAgent.set(agent, { ...d, session });
  }

  /** `d` came due while the record did not name its stream: it waits for a late claim of it (lateClaim). */
  awaitClaim(agent: string, d: Departure, now: number): void {
    this.unclaimed.delete(agent);
    this.unclaimed.set(agent, { departure: d, dueAt: now });
    if (this.unclaimed.size > this.maxAwaitingClaims) {
      const first = this.unclaimed.keys().next();
      if (first.done !== true) this.unclaimed.delete(first.value);
    }
  }

  /** Due departures waiting for a late claim of their stream. */
  get awaitingClaims(): number {
    return this.unclaimed.size;
  }

  /**
   * This controller's claim of `session`, a stream of `agent` gone from here, committed: the
   * departure that came due before it, if any. That of another stream (a later one here, whose
   * own claim was left out or may still commit) ends this one too, and keeps waiting for its own.
   */
  lateClaim(agent: string, session: string): Departure | null {
    const waiting = this.unclaimed.get(agent);
    if (waiting === undefined) return null;
    if (waiting.departure.session === session) this.unclaimed.delete(agent);
    return waiting.departure;
  }

  /** Forgets the departures that waited LATE_CLAIM_WAIT_MS for a late claim (oldest first). */
  forgetUnclaimed(now: number): void {
    for (const [agent, w] of this.unclaimed) {
      if (now - w.dueAt < LATE_CLAIM_WAIT_MS) break;
      this.unclaimed.delete(agent);
    }
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
