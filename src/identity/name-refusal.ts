/**
 * The start-up rule for peers that refuse this node's cluster name (`CLUSTER_NAME`): the file
 * names another cluster than theirs (a typo, or another cluster's file). A peer judges the name
 * before anything else of the asker (peer-service.ts), so such a refusal says nothing of the
 * data dir; it carries only the peer's own name, in the reason acceptance.ts writes: `cluster
 * name mismatch: expected "THEIRS", found "OURS"` (the gRPC details read `CLUSTER_NAME: ...`).
 *
 * When to refuse: once a majority of the file's *other* members refuse the name. Every peer
 * judges every message by name, so this node plus the peers that did not refuse it are then
 * fewer than a quorum of the file's members: under this name it can take part in no quorum
 * while those peers run, and starting buys nothing but a node that is cut off for ever (and a
 * unit shown running). Refusing touches no safety either: a node that does not start neither
 * votes nor acknowledges. With fewer refusals it starts, as before: the refusers may be the
 * strays (started from a wrong file while the others were down), and the peers that did not
 * answer may form a quorum with this node once they are back; so "every peer that answered"
 * is not enough, one refusal of three with a peer down proves nothing. A node that refused
 * starts again with the right file: nothing was written.
 */
import type { StartupDecision, PeerAnswer, StartupInput } from './startup-decision.js';

export interface NameRefusal {
  readonly peer: string;
  /** The peer's cluster.name, cut to 64 characters (it comes from outside); null when its reason did not say. */
  readonly theirs: string | null;
}

const EXPECTED = /\bexpected ("(?:[^"\\]|\\.)*")/;

/** The refusal in `answer` when the peer refused this node's cluster name; null for anything else. */
export function nameRefusalOf(answer: PeerAnswer): NameRefusal | null {
  if (!('error' in answer) || answer.status !== 'PERMISSION_DENIED' || !answer.details.startsWith('CLUSTER_NAME: ')) return null;
  return { peer: answer.peer, theirs: theirNameIn(answer.details) };
}

/** The refusing peer's own cluster.name in a CLUSTER_NAME refusal's reason, cut to 64 characters; null when it does not say. */
export function theirNameIn(reason: string): string | null {
  const quoted = EXPECTED.exec(reason)?.[1];
  return quoted === undefined ? null : parseQuoted(quoted);
}

function parseQuoted(quoted: string): string | null {
  try {
    const name: unknown = JSON.parse(quoted);
    return typeof name === 'string' ? name.slice(0, 64) : null;
  } catch {
    return null;
  }
}

type NameInput = Pick<StartupInput, 'clusterName' | 'configFile' | 'clusterSize' | 'answers'>;

/** A refusal when a majority of the other members refuse this file's cluster name; null otherwise. */
export function refuseForName(input: NameInput): Extract<StartupDecision, { action: 'refuse' }> | null {
  const refusals = input.answers.map(nameRefusalOf).filter((r): r is NameRefusal => r !== null);
  const peers = input.clusterSize - 1;
  if (peers < 1 || refusals.length < Math.floor(peers / 2) + 1) return null;
  const same = input.answers.filter((a) => 'reply' in a).map((a) => a.peer);
  return {
    action: 'refuse',
    code: 'CLUSTER_NAME',
    message:
      `cluster.name ${JSON.stringify(input.clusterName)} in ${input.configFile}, but ${describeTheirs(refusals)}: ` +
      `${refusals.length} of the ${peers} other members refuse this name, so under it this node can be in no quorum ` +
      `(a typo, or another cluster's file)${same.length === 0 ? '' : `; ${same.join(', ')} answered under this name too`}. ` +
      'Give it the cluster file its peers run and start it again: no state was written',
  };
}

/** `peers c1, c3 run cluster "a"`, or per name when they differ. */
function describeTheirs(refusals: readonly NameRefusal[]): string {
  const byName = new Map<string, string[]>();
  for (const r of refusals) {
    const name = r.theirs === null ? 'another cluster' : `cluster ${JSON.stringify(r.theirs)}`;
    byName.set(name, [...(byName.get(name) ?? []), r.peer]);
  }
  return [...byName]
    .map(([name, peers]) => (peers.length === 1 ? `peer ${peers[0] ?? ''} runs ${name}` : `peers ${peers.join(', ')} run ${name}`))
    .join(' and ');
}
