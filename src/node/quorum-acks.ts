/**
 * A leader's proof that a quorum still follows it, as the lease of the Raft thesis (§6.4.1)
 * reckons it: a peer's answer proves contact at the instant this node sent what the answer
 * acknowledges, never at the instant the answer is read. Answers that waited in this process's
 * sockets while it was stopped (SIGSTOP, a blocked event loop) therefore count for the time they
 * were asked, before the stall, whatever order the resumed process reads them in. Any other
 * message (a pre-vote, a vote request of a newer term that stickiness ignores) proves nothing
 * about this node's leadership and counts for nothing here.
 *
 * Two kinds of answers are tied to a send time:
 * - a HeartbeatResp: each heartbeat round leaves with its round number appended to its context
 *   (`<context>#<round>`), the follower's core echoes the context, and `incoming` takes the
 *   round back off before the core sees it, so the core's ReadIndex contexts are unchanged;
 * - a granted VoteResp: a node sends its Vote requests once per term, so a grant of that term
 *   answers them (a new leader is current from its election on, not one heartbeat later).
 */
import type { Message, NodeId } from '../raft/index.js';

const ROUND_MARK = '#';

interface Sent {
  readonly term: number;
  readonly at: number;
}

export class QuorumAcks {
  private round = 0;
  /** Heartbeat rounds by number, in send order; those older than the horizon are forgotten. */
  private readonly rounds = new Map<number, Sent>();
  /** This node's latest vote round. */
  private votes: Sent | null = null;
  /** Per peer: the latest round it acknowledged. */
  private readonly acked = new Map<NodeId, Sent>();

  /** `horizonMs`: how long a round's send time is kept for its answers (beyond it, they prove too little). */
  constructor(private readonly horizonMs: number) {}

  /** The messages to hand to the transport at `now`: heartbeats carry this round's number. */
  outgoing(msgs: readonly Message[], now: number): readonly Message[] {
    let round: number | null = null;
    for (const m of msgs) {
      if (m.type === 'Vote' && this.votes?.term !== m.term) this.votes = { term: m.term, at: now };
      if (m.type === 'Heartbeat' && round === null) round = this.newRound(m.term, now);
    }
    if (round === null) return msgs;
    const tag = `${ROUND_MARK}${round}`;
    return msgs.map((m) => (m.type === 'Heartbeat' ? { ...m, context: m.context + tag } : m));
  }

  /** Records what `m` acknowledges; returns `m` as the core must see it (a heartbeat answer without its round). */
  incoming(m: Message): Message {
    if (m.type === 'VoteResp') {
      if (!m.reject && this.votes?.term === m.term) this.ack(m.from, this.votes);
      return m;
    }
    if (m.type !== 'HeartbeatResp') return m;
    const mark = m.context.lastIndexOf(ROUND_MARK);
    const digits = mark < 0 ? '' : m.context.slice(mark + 1);
    if (!/^\d+$/.test(digits)) return m;
    const sent = this.rounds.get(Number(digits));
    if (sent !== undefined && sent.term === m.term) this.ack(m.from, sent);
    return { ...m, context: m.context.slice(0, mark) };
  }

  /**
   * The latest instant at which a quorum of `voters` (`self` counted at `now`) had acknowledged
   * this node as the leader of `term`; null: no quorum ever has.
   */
  quorumAt(self: NodeId, voters: readonly NodeId[], term: number, now: number): number | null {
    const at = voters
      .map((v) => {
        if (v === self) return now;
        const a = this.acked.get(v);
        return a !== undefined && a.term === term ? a.at : Number.NEGATIVE_INFINITY;
      })
      .sort((a, b) => b - a);
    const quorumth = at[Math.floor(voters.length / 2)];
    return quorumth === undefined || quorumth === Number.NEGATIVE_INFINITY ? null : quorumth;
  }

  private newRound(term: number, now: number): number {
    for (const [n, sent] of this.rounds) {
      if (now - sent.at <= this.horizonMs) break;
      this.rounds.delete(n);
    }
    this.rounds.set(++this.round, { term, at: now });
    return this.round;
  }

  private ack(from: NodeId, sent: Sent): void {
    const prev = this.acked.get(from);
    if (prev === undefined || prev.term < sent.term || (prev.term === sent.term && prev.at < sent.at)) this.acked.set(from, sent);
  }
}
