/**
 * The leader.changed audit events of one node, each recorded once and with its reason:
 *
 * - `transfer by operator` / `shutdown hand-off` / `preferred leader hand-off`: this node was
 *   the leader and sent the TimeoutNow that started it (an operator's `leader transfer`, its own
 *   shutdown, or autopilot handing leadership to cluster.preferred_leader); the reason names
 *   old -> new and how long the hand-over took.
 * - `transfer`: this node saw the new leader campaign with the transfer flag (a Vote marked
 *   as a transfer, sent or received) for that term, but did not start it.
 * - `election`: anything else.
 *
 * A term's leader is recorded once: the store's `leader` mark holds the last recorded term, so
 * a restart that learns the same leader again records nothing. Losing a leader (no leader
 * known) is not an event; the next leader's event names the previous one. Pure: time and the
 * mark come in as arguments.
 */
import type { NodeId } from './types.js';
import { auditEvent, type AuditEvent } from './audit.js';

export type HandOverKind = 'operator' | 'shutdown' | 'preferred';

/** How a leader change came about, for whoever counts them (autopilot's preferred-leader back-off). */
export type LeaderChangeKind = HandOverKind | 'transfer' | 'election';

export const LEADER_MARK = 'leader';

export class LeadershipLog {
  /** Set while this node's shutdown hands leadership off. */
  private shuttingDown = false;
  private sent: { readonly to: NodeId; readonly atMs: number; readonly kind: HandOverKind } | null = null;
  /** Autopilot is handing leadership to this member: the next TimeoutNow to it is that. */
  private preferredTo: NodeId | null = null;
  private readonly transferVotes = new Map<number, NodeId>();
  private lastLeader: NodeId | null = null;

  constructor(
    private readonly self: NodeId,
    /** How long a TimeoutNow or a transfer vote explains a change of leader. */
    private readonly windowMs: number,
  ) {}

  /** Shutdown is about to hand leadership off: a transfer from now on is a shutdown hand-off. */
  shutdownStarted(): void {
    this.shuttingDown = true;
  }

  /** This node, as leader, sent TimeoutNow to `to`: a transfer it started. */
  timeoutNowSent(to: NodeId, nowMs: number): void {
    this.sent = { to, atMs: nowMs, kind: this.shuttingDown ? 'shutdown' : this.preferredTo === to ? 'preferred' : 'operator' };
    this.preferredTo = null;
  }

  /** Autopilot asks Raft to hand leadership to the preferred leader `to` (before the TimeoutNow goes). */
  preferredHandOff(to: NodeId): void {
    this.preferredTo = to;
  }

  /** A Vote marked as a transfer, from `candidate` in `term`, was sent or received here. */
  transferVote(candidate: NodeId, term: number): void {
    this.transferVotes.set(term, candidate);
    for (const t of [...this.transferVotes.keys()]) if (t < term - 8) this.transferVotes.delete(t);
  }

  /**
   * The leader changed to `to` in `term`: the event to record and the mark to store with it,
   * or null (no leader, or a term already recorded according to `recordedMark`).
   */
  changed(
    to: NodeId | null,
    term: number,
    nowMs: number,
    wallClockMs: number,
    recordedMark: string | undefined,
  ): { readonly event: AuditEvent; readonly mark: string; readonly kind: LeaderChangeKind } | null {
    if (to === null) return null;
    const from = this.lastLeader;
    this.lastLeader = to;
    const recordedTerm = recordedMark === undefined ? 0 : Number(recordedMark.split(':')[0]);
    if (Number.isFinite(recordedTerm) && term <= recordedTerm) return null;
    const was = from ?? 'none';
    let reason: string;
    let kind: LeaderChangeKind;
    const sent = this.sent;
    if (sent !== null && sent.to === to && nowMs - sent.atMs <= this.windowMs) {
      const what = sent.kind === 'shutdown' ? 'shutdown hand-off' : sent.kind === 'preferred' ? 'preferred leader hand-off' : 'transfer by operator';
      reason = `${what}: ${from ?? this.self} -> ${to} in ${Math.round(nowMs - sent.atMs)}ms (term ${term})`;
      kind = sent.kind;
      this.sent = null;
    } else if (this.transferVotes.get(term) === to) {
      reason = `transfer: ${was} -> ${to} (term ${term})`;
      kind = 'transfer';
    } else {
      reason = `election: ${was} -> ${to} (term ${term})`;
      kind = 'election';
    }
    return {
      event: auditEvent(wallClockMs, this.self, 'leader.changed', { subject: to, from, to, reason }),
      mark: `${term}:${to}`,
      kind,
    };
  }
}
