/**
 * The start-up question, "who are you, and do you know me?", which a starting node asks every
 * peer before it decides to bootstrap, join or start from disk (startup-decision.ts). This is
 * the answer a running node gives, from its applied state and what its transport has heard.
 */
import type { InitialNodes } from './initial-nodes.js';
import type { IdentityId, LocalIdentity, RecordedMembers } from './types.js';

/** What the asker says of its own data dir when it asks. */
export interface HelloAsk {
  /** '' when the asker's data dir is empty. */
  readonly incarnation: string;
  /** The cluster id its data dir holds; null when none. */
  readonly clusterId: IdentityId | null;
  /** Its last log index (0 when empty, 1 when it holds only the bootstrap entry). */
  readonly lastIndex: number;
  /** It was started with --join. */
  readonly joining: boolean;
  /** Its cluster file's nodes, what it would bootstrap from; null from a version that does not say. */
  readonly nodes: InitialNodes | null;
}

/**
 * The ask of a member about to create the cluster with this one: nothing beyond the bootstrap
 * entry, no cluster id, not joining. Hearing it, a member that bootstrapped while no peer
 * answered learns it is one of the cluster's first members (acceptance.ts, rule 6). The same
 * ask comes from a member whose disk was lost and that restarts without --join; the receiver
 * counts it only while it knows no cluster id itself (after that, creation is over).
 */
export function asksAtCreation(ask: HelloAsk): boolean {
  return ask.clusterId === null && ask.lastIndex <= 1 && !ask.joining;
}

/** What the asker learns about itself from one peer. */
export interface AboutYou {
  /** The asker's id is in the peer's applied membership. */
  readonly member: boolean;
  readonly role: 'voter' | 'learner' | null;
  /** The incarnation the cluster recorded for the asker's id; '' when none. */
  readonly recorded: string;
  /** An incarnation the peer heard from the asker's id and has not seen removed; '' when none. */
  readonly heard: string;
  /** The asker's own incarnation was removed from the cluster. */
  readonly removed: boolean;
  /** The address the cluster records for the asker's id; null when none (or from an older version). */
  readonly address: string | null;
}

export interface HelloReply {
  /** The answering peer. */
  readonly memberId: string;
  readonly incarnation: IdentityId;
  readonly clusterId: IdentityId | null;
  readonly lastIndex: number;
  readonly appliedIndex: number;
  readonly you: AboutYou;
  /**
   * While the cluster is being created (the peer knows no cluster id): the initial configuration
   * it bootstrapped from, or would. Null once the cluster runs, or from a version that does not say.
   */
  readonly creationNodes: InitialNodes | null;
}

export interface HelloView {
  readonly identity: LocalIdentity;
  readonly members: RecordedMembers;
  readonly lastIndex: number;
  readonly appliedIndex: number;
  /** The last incarnation the transport heard from `id`, if any. */
  readonly heardFrom: (id: string) => string | null;
  /** The initial configuration in its log (or, before it bootstrapped, its cluster file's). */
  readonly initialNodes: InitialNodes;
}

export function helloReply(view: HelloView, askerId: string, ask: HelloAsk): HelloReply {
  const askerIncarnation = ask.incarnation;
  const record = view.members.get(askerId);
  const heard = view.heardFrom(askerId) ?? '';
  const recorded = record?.incarnation ?? '';
  const clusterId = view.identity.clusterId ?? view.members.clusterId;
  return {
    memberId: view.identity.memberId,
    incarnation: view.identity.incarnation,
    clusterId,
    lastIndex: view.lastIndex,
    appliedIndex: view.appliedIndex,
    you: {
      member: record !== null,
      role: record?.role ?? null,
      recorded,
      // Evidence that a data dir ran as this member: not the one recorded, and not removed since.
      heard: heard !== '' && heard !== recorded && !view.members.wasRemoved(heard) ? heard : '',
      removed: askerIncarnation !== '' && view.members.wasRemoved(askerIncarnation),
      address: record === null || record.address === '' ? null : record.address,
    },
    creationNodes: clusterId === null ? view.initialNodes : null,
  };
}
