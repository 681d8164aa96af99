/**
 * What the leader's health rule needs from the wire: when each peer last sent this node a Raft
 * message other than a campaign, and the term it last spoke in. Only some messages carry the
 * sender's own term (a pre-vote asks about a term the sender does not hold yet), so the term
 * comes from those.
 *
 * A campaign (pre-vote, vote) is not contact: its sender hears no leader. A member the leader
 * cannot reach (restarted on another address than the cluster dials) still reached the leader
 * with its pre-votes, every election timeout, and was reported healthy, counted towards the
 * quorum a member removal must leave, though it answered none of the leader's messages.
 * Consul's autopilot likewise counts the follower's answers to the leader's appends.
 */
import type { Message, MessageType } from '../raft/index.js';
import type { Clock } from '../util/clock.js';

/** Messages whose term is the sender's current term (a pre-vote and its answer may carry a future one). */
const OWN_TERM: ReadonlySet<MessageType> = new Set(['AppendResp', 'HeartbeatResp', 'ReadIndex', 'VoteResp']);

/** Messages of a sender that hears no leader. */
const CAMPAIGN: ReadonlySet<MessageType> = new Set(['PreVote', 'Vote']);

export interface PeerContact {
  /** Monotonic ms of the last message from the peer. */
  readonly lastHeardAt: number;
  /** The term of its last answer; null before one. */
  readonly term: number | null;
}

export class PeerContacts {
  private readonly peers = new Map<string, { lastHeardAt: number; term: number | null }>();

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  /** A message from a peer reached this node (after the transport checked the sender). */
  note(m: Message): void {
    if (CAMPAIGN.has(m.type)) return;
    const known = this.peers.get(m.from);
    const term = OWN_TERM.has(m.type) ? m.term : (known?.term ?? null);
    this.peers.set(m.from, { lastHeardAt: this.clock.now(), term });
  }

  get(peer: string): PeerContact | null {
    return this.peers.get(peer) ?? null;
  }

  /** Forgets peers that are no longer members. */
  retainOnly(ids: ReadonlySet<string>): void {
    for (const id of [...this.peers.keys()]) if (!ids.has(id)) this.peers.delete(id);
  }
}
