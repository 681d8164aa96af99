/**
 * Recovery is for a quorum lost for good. If the other voters of the current configuration are
 * still running and form a quorum without this node, they elect leaders and take writes, and a
 * recovered node would start a second cluster beside them that answers the same clients. So
 * before rewriting anything, `controller recover` asks them (the start-up question) and refuses
 * when a quorum of them answers for this cluster. etcd's --force-new-cluster and hashicorp/raft's
 * peers.json trust the operator here; `--force` is that trust, asked for by name.
 */
import type { ConfState } from '../raft/index.js';

export interface MemberTarget {
  readonly id: string;
  readonly address: string;
}

/** The other voters of `before`, with the address to ask each at; those without one are left out. */
export function votersToAsk(before: ConfState, self: string, addressOf: (id: string) => string | null): MemberTarget[] {
  return before.voters.filter((id) => id !== self).flatMap((id) => {
    const address = addressOf(id);
    return address === null || address === '' ? [] : [{ id, address }];
  });
}

/** A member that answered the start-up question for this cluster, and how far its log goes. */
export interface RunningMember {
  readonly id: string;
  readonly lastIndex: number;
}

/**
 * Why recovery from a log ending at `ownLastIndex` would lose what a running member holds, or
 * null. This node's configuration may be stale (it stopped before a member was removed): the
 * members that answer may then be a quorum of the real configuration but not of the one this
 * log knows, and liveQuorumRefusal counts against the latter. A running member whose log goes
 * further holds entries this one lacks, acknowledged writes among them: recovering here would
 * drop them, and its epoch would then refuse the live members (they stop, exit 10). As etcd
 * advises for --force-new-cluster: recover the member whose log goes furthest.
 */
export function staleLogRefusal(self: string, ownLastIndex: number, running: readonly RunningMember[]): string | null {
  const ahead = running.filter((m) => m.id !== self && m.lastIndex > ownLastIndex).sort((a, b) => b.lastIndex - a.lastIndex);
  if (ahead.length === 0) return null;
  const shown = ahead.map((m) => `${m.id} (to index ${m.lastIndex})`).join(', ');
  return (
    `${shown} run${ahead.length === 1 ? 's' : ''} as member${ahead.length === 1 ? '' : 's'} of this cluster with a longer log than ${self}'s (to index ${ownLastIndex}): ` +
    `recovering ${self} would drop what ${ahead.length === 1 ? 'it holds' : 'they hold'}, acknowledged writes among it, and stop ${ahead.length === 1 ? 'it' : 'them'} as removed. ` +
    `Start ${self} again to follow them, or recover ${ahead[0]!.id} instead (after stopping it); to recover ${self} anyway, stop them first, or pass --force`
  );
}

/** Why recovery would split the cluster (`running`: the voters that answered for this cluster), or null. */
export function liveQuorumRefusal(before: ConfState, self: string, running: readonly string[]): string | null {
  const voters = before.voters;
  const live = voters.filter((id) => id !== self && running.includes(id));
  const quorum = Math.floor(voters.length / 2) + 1;
  if (live.length < quorum) return null;
  return (
    `${live.join(', ')} answer${live.length === 1 ? 's' : ''} as running members of this cluster: ${live.length} of the ${voters.length} voters, a quorum without ${self}. ` +
    `The quorum is not lost: start ${self} again and it follows their leader (remove members with ctl member remove). ` +
    'Recovering it now would make a second cluster beside theirs; to do that anyway, stop them first, or pass --force'
  );
}
