/**
 * The last check before this controller reports an agent offline: is the agent live on another
 * controller, on another stream, whose claim has not committed yet? Such a claim can wait
 * behind a proposal its controller cannot get answered (a leader that controller alone cannot
 * reach, while it still hears a quorum); reporting the departure meanwhile would show the
 * agent offline although it moved within its timeout. So the disconnects this controller would
 * report (its departures whose grace ran out, the leader's expiries) first ask every controller
 * it hears from for its live agents, the rows `list agents` gathers, and an agent live
 * elsewhere is not reported. Nor is one departing from another controller, whose claim never
 * committed either (that controller shed it, say): its grace runs from its last contact there.
 * A controller that does not answer counts as serving nothing, so the question is asked, and
 * its answer taken, only while this controller hears a quorum and a leader (the hub's inReach):
 * cut off, it hears nobody's answer, and what it decided then would commit only once it is
 * back, by when the agent may have moved (seed 500370 of the agents' simulation).
 *
 * The leader's forgets of records offline beyond the reconnect timeout (offline-reaper.ts) are
 * checked the same way, more strictly: an agent with any row anywhere, this controller's own or
 * on the very stream its record names, is not gone.
 */
import type { DisconnectEntry, ForgetEntry } from '../statemachine/index.js';
import type { Departure } from './departures.js';
import type { LiveAgent } from './types.js';

export type OfflineCandidate =
  | {
      readonly entry: DisconnectEntry;
      /** The departure it ends; null for the leader's expiry of an unreachable controller's agent. */
      readonly departure: Departure | null;
    }
  | { readonly entry: ForgetEntry; readonly departure: null };

export interface OfflineVerdict {
  /** Not live anywhere else: report them. */
  readonly report: readonly OfflineCandidate[];
  /** Live (or departing) on another controller's stream, with the row of latest contact: hold them. */
  readonly held: ReadonlyArray<readonly [OfflineCandidate, LiveAgent]>;
}

export class OfflineCheck {
  private waiting = new Map<string, OfflineCandidate>();
  private asked: Map<string, OfflineCandidate> | null = null;

  constructor(private readonly self: string) {}

  /** Candidates waiting for an answer or for the next question. */
  get size(): number {
    return this.waiting.size + (this.asked?.size ?? 0);
  }

  add(candidate: OfflineCandidate): void {
    this.waiting.set(candidate.entry.id, candidate);
  }

  /** A verdict to judge again (its report waited out a spell out of reach); a newer candidate for the agent wins. */
  again(candidate: OfflineCandidate): void {
    const id = candidate.entry.id;
    if (!this.waiting.has(id) && this.asked?.has(id) !== true) this.waiting.set(id, candidate);
  }

  /** The agent is back on this controller: whatever was pending for it no longer holds. */
  forget(agent: string): void {
    this.waiting.delete(agent);
    this.asked?.delete(agent);
  }

  /** The agents to ask the other controllers about; null while a question is unanswered or none waits. */
  ask(): string[] | null {
    if (this.asked !== null || this.waiting.size === 0) return null;
    this.asked = this.waiting;
    this.waiting = new Map();
    return [...this.asked.keys()];
  }

  /** The question asked was answered while this controller was out of reach: ask it again later. */
  unanswered(): void {
    const asked = this.asked ?? new Map<string, OfflineCandidate>();
    this.asked = null;
    // Anything added since is newer than what was asked.
    for (const [id, c] of asked) if (!this.waiting.has(id)) this.waiting.set(id, c);
  }

  /**
   * The other controllers' live rows (those that answered), and this controller's own, settle
   * the question asked: a disconnect is held by a row of another controller on another stream,
   * a forget by any row.
   */
  answered(rows: readonly LiveAgent[]): OfflineVerdict {
    const asked = this.asked ?? new Map<string, OfflineCandidate>();
    this.asked = null;
    const elsewhere = new Map<string, LiveAgent>();
    for (const row of rows) {
      const c = asked.get(row.id);
      if (c === undefined || (c.entry.op === 'disconnect' && (row.controller === this.self || row.session === c.entry.session))) continue;
      const known = elsewhere.get(row.id);
      if (known === undefined || row.lastContactMs < known.lastContactMs) elsewhere.set(row.id, row);
    }
    const report: OfflineCandidate[] = [];
    const held: Array<readonly [OfflineCandidate, LiveAgent]> = [];
    for (const [id, c] of asked) {
      const row = elsewhere.get(id);
      if (row === undefined) report.push(c);
      else held.push([c, row]);
    }
    return { report, held };
  }
}
