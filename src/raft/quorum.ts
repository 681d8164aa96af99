/**
 * Quorum arithmetic as pure functions (etcd's quorum/ package). Only voters count; learners
 * never do.
 */
import type { NodeId } from './types.js';

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest index that a majority of voters have matched: sort the match indexes
 * descending and take the quorum-th. Voters missing from `match` count as 0.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const sorted = voters.map(match).sort((a, b) => b - a);
  return sorted[quorumSize(voters.length) - 1]!;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies granted and rejected votes; `lost` once a majority can no longer be reached. */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return 'won';
  if (rejected > voters.length - q) return 'lost';
  return 'pending';
}

/** True when the given set holds a majority of voters. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (active(id)) n++;
  return n >= quorumSize(voters.length);
}
