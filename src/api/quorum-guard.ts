/**
 * Whether this node can serve a request that needs the cluster, or must say at once that it
 * cannot, so the client moves on to another endpoint instead of waiting out its deadline:
 *
 * - cut off: it heard from no quorum of voters within an election timeout (the contract's
 *   `stale`); nothing it could do would reach a leader;
 * - leaderless beyond an ordinary election: it hears a quorum but has known no leader for
 *   `LEADERLESS_ELECTIONS` election timeouts (a node on the far side of a partial partition,
 *   whose peers keep the leader they have).
 *
 * A node in an ordinary election is neither: it holds the request for the new leader. In its
 * first election timeout after start a node has not had the time to hear anyone, and is not
 * judged either (counted from when it began to serve: replaying its log on start may take
 * seconds on a loaded machine). The answer names the node and what it lacks, and the peers
 * that refuse it as a second process of its member (DUPLICATE_PROCESS) or over its cluster name
 * (CLUSTER_NAME): causes no contact count shows.
 */
import { describeRefusedAsDuplicate } from '../identity/duplicate-marks.js';
import { leaderlessReason } from '../membership/leader-contact.js';

export { LEADERLESS_ELECTIONS } from '../membership/leader-contact.js';

export interface QuorumSignals {
  readonly self: string;
  readonly electionTimeoutMs: number;
  /** Monotonic ms when the node began to serve (Infinity before). */
  readonly startedAt: number;
  now(): number;
  /** The membership layer's quorum contact: '' when a quorum was heard within an election timeout. */
  staleReason(): string;
  leader(): string | null;
  /** Monotonic ms of the last message from a leader; null: never. */
  lastLeaderContactAt(): number | null;
  /** The peers refusing this node now as another process of its member, in id order; absent: none known. */
  refusedAsDuplicateBy?(): readonly string[];
  /** Why peers refuse this node's cluster name now (name-refusers.ts); '' or absent: none do. */
  refusedForName?(): string;
}

/**
 * Who refuses this node now, as a second process of its member or over its cluster name,
 * joined for a reason; '' when nobody does.
 */
export function describeRefusals(self: string, duplicateBy: readonly string[], forName: string): string {
  return [describeRefusedAsDuplicate(self, duplicateBy), forName].filter((part) => part !== '').join('; ');
}

/** null when the node may hold the request; otherwise why it cannot serve it. */
export function cutOffReason(s: QuorumSignals): string | null {
  const reason = lackReason(s);
  if (reason === null) return null;
  const refused = describeRefusals(s.self, s.refusedAsDuplicateBy?.() ?? [], s.refusedForName?.() ?? '');
  return refused === '' ? reason : `${reason}; ${refused}`;
}

function lackReason(s: QuorumSignals): string | null {
  const now = s.now();
  if (!(now - s.startedAt > s.electionTimeoutMs)) return null;
  const stale = s.staleReason();
  if (stale !== '') return `${s.self} is cut off from a quorum: ${stale}`;
  if (s.leader() !== null) return null;
  return leaderlessReason({ self: s.self, now, since: s.startedAt, lastLeaderContactAt: s.lastLeaderContactAt(), electionTimeoutMs: s.electionTimeoutMs });
}
