/**
 * Recovery is for a quorum lost for good. If the other voters of the current configuration are
 * still running and form a quorum without this node, they elect leaders and take writes, and a
 * recovered node would start a second cluster beside them that answers the same clients. So
 * before rewriting anything, `controller recover` asks them (the start-up question) and refuses
 * when a quorum of them answers for this cluster, or answers but refuses this node's file
 * (peer-answers.ts says which answers count). etcd's --force-new-cluster and hashicorp/raft's
 * peers.json trust the operator here; `--force` is that trust, asked for by name.
 */
import type { ConfState } from '../raft/index.js';

export interface MemberTarget {
  readonly id: string;
  readonly address: string;
}

/** Whom to ask: each other voter at every address known for it, and the voters with none. */
export interface VotersToAsk {
  readonly targets: readonly MemberTarget[];
  readonly unaddressed: readonly string[];
}

/**
 * The other voters of `before`, each at every address `addressesOf` knows for it: where this
 * log records it (what `member add` wrote), and where the cluster file puts it when that
 * differs. A file trimmed to this node alone, or one with stale addresses, must not hide a
 * running quorum: an adversarial test recovered beside one that way.
 */
export function votersToAsk(before: ConfState, self: string, addressesOf: (id: string) => readonly string[]): VotersToAsk {
  const others = before.voters.filter((id) => id !== self);
  const targets = others.flatMap((id) => addressesOf(id).filter((a) => a !== '').map((address) => ({ id, address })));
  return { targets, unaddressed: others.filter((id) => !targets.some((t) => t.id === id)) };
}

/**
 * Answers per voter, when some were asked at two addresses: a voter runs as a member if it
 * answered so at either (the furthest log counts), and refused only if it answered at neither.
 */
export function answersByVoter(running: readonly RunningMember[], refused: readonly RefusingMember[]): { running: RunningMember[]; refused: RefusingMember[] } {
  const members = new Map<string, RunningMember>();
  for (const m of running) if ((members.get(m.id)?.lastIndex ?? -1) < m.lastIndex) members.set(m.id, m);
  const refusing = new Map<string, RefusingMember>();
  for (const r of refused) if (!members.has(r.id) && !refusing.has(r.id)) refusing.set(r.id, r);
  return { running: [...members.values()], refused: [...refusing.values()] };
}

/**
 * Why voters nobody could ask leave the question open, or null: with no address in the log or
 * the file, whether they run is unknown, and if they could complete a quorum with those that
 * answered, recovering might start a second cluster beside theirs.
 */
export function uncheckedRefusal(before: ConfState, self: string, live: number, unaddressed: readonly string[]): string | null {
  const quorum = Math.floor(before.voters.length / 2) + 1;
  if (unaddressed.length === 0 || live + unaddressed.length < quorum) return null;
  const they = unaddressed.length === 1 ? 'it' : 'they';
  return (
    `${unaddressed.join(', ')} ${unaddressed.length === 1 ? 'has' : 'have'} no address in ${self}'s log or the cluster file, so whether ${they} still run was not checked; ` +
    `with ${live} other voter${live === 1 ? '' : 's'} answering, ${they} could make a quorum of the ${before.voters.length} voters without ${self}. ` +
    `List ${unaddressed.length === 1 ? 'its address' : 'their addresses'} in cluster.nodes to have ${they === 'it' ? 'it' : 'them'} asked, or pass --force`
  );
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

/**
 * How a voter that runs showed it without answering for this cluster (peer-answers.ts decides
 * which, where it reads grpc-js's error): it answered but refused this node's file, or its
 * connection came up and carried the question with no answer in time (running but slow).
 */
export type RunningSign =
  | {
      readonly kind: 'refused';
      /** For "c1 answered but <cause>". */
      readonly cause: string;
      /** What this one said, when it differs by peer: "c1 (read ECONNRESET) answered but <cause>". */
      readonly detail: string | null;
    }
  | {
      readonly kind: 'slow';
      /** How long it was waited for, in grpc-js's words (`5.001s`). */
      readonly within: string;
      /** The address the connection reached (`127.0.0.1:7102`). */
      readonly at: string;
    };

/** A voter that runs under whatever this node's file got wrong, or slowly: it counts toward a live quorum. */
export type RefusingMember = { readonly id: string } & RunningSign;

/** What a running voter did, after its id: "answered but <cause>", or that it connected and was silent. */
export function refusalClause(sign: RunningSign): string {
  switch (sign.kind) {
    case 'refused':
      return `answered but ${sign.cause}`;
    case 'slow':
      return `connected and had no answer within ${sign.within} (at ${sign.at}: running but overloaded, or paused?)`;
  }
}

/** "c1, c2 answered but <cause>", one clause per cause. */
function describeRefusals(refused: readonly RefusingMember[]): string {
  const byClause = new Map<string, string[]>();
  for (const r of refused) {
    const clause = refusalClause(r);
    const who = r.kind === 'refused' && r.detail !== null ? `${r.id} (${r.detail})` : r.id;
    byClause.set(clause, [...(byClause.get(clause) ?? []), who]);
  }
  return [...byClause].map(([clause, ids]) => `${ids.join(', ')} ${clause}`).join('; ');
}

/**
 * Why recovery would split the cluster, or null. `running`: the voters that answered for this
 * cluster; `refused`: those that answered but refused this node's file. Both run, so both count.
 */
export function liveQuorumRefusal(before: ConfState, self: string, running: readonly string[], refused: readonly RefusingMember[] = []): string | null {
  const voters = before.voters;
  const others = voters.filter((id) => id !== self);
  const members = others.filter((id) => running.includes(id));
  const refusing = refused.filter((r) => others.includes(r.id) && !members.includes(r.id));
  const live = members.length + refusing.length;
  const quorum = Math.floor(voters.length / 2) + 1;
  if (live < quorum) return null;
  if (refusing.length === 0) {
    return (
      `${members.join(', ')} answer${members.length === 1 ? 's' : ''} as running members of this cluster: ${live} of the ${voters.length} voters, a quorum without ${self}. ` +
      `The quorum is not lost: start ${self} again and it follows their leader (remove members with ctl member remove). ` +
      'Recovering it now would make a second cluster beside theirs; to do that anyway, stop them first, or pass --force'
    );
  }
  const alsoMembers = members.length === 0 ? '' : `; ${members.join(', ')} answer${members.length === 1 ? 's as a running member' : ' as running members'} of this cluster`;
  if (refusing.every((r) => r.kind === 'slow')) {
    return (
      `${describeRefusals(refusing)}${alsoMembers}. ${live} of the ${voters.length} voters run, a quorum without ${self}: the quorum is likely not lost, only slow. ` +
      `Start ${self} again and it follows their leader, or run recover again once their host is less loaded. ` +
      'If they are frozen for good, stop them, or pass --force'
    );
  }
  return (
    `${describeRefusals(refusing)}${alsoMembers}. ${live} of the ${voters.length} voters run, a quorum without ${self}: a node recovered with this file would lead a second cluster beside them. ` +
    `If they are this cluster's members, the quorum is not lost: make the file match theirs (cluster.name, tls) and start ${self} again, and it follows their leader. ` +
    'If they are not (something else runs at their addresses now), stop it, or pass --force'
  );
}
