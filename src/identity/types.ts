/**
 * Who a node is, beyond its configured id. A data dir gets a random incarnation when it is
 * created; the cluster gets a random id from its first leader. Every peer message carries both,
 * so a node can tell a member's current data dir from a lost or replaced one, and its own
 * cluster from another one bootstrapped from an identical file.
 */

/** 64 random bits as 16 lowercase hex digits: a cluster id or an incarnation. */
export type IdentityId = string;

/** How a data dir came to be, which decides whether it may vote before the cluster knows it. */
export type DataDirOrigin =
  /** Wrote the initial configuration from the cluster file (a new cluster, as far as it knew). */
  | 'bootstrap'
  /** Started empty to receive the log from the cluster (`--join`, or peers showed a cluster). */
  | 'join'
  /** Created by a version without identities; its incarnation was assigned on upgrade. */
  | 'legacy';

export const DATA_DIR_ORIGINS: readonly DataDirOrigin[] = ['bootstrap', 'join', 'legacy'];

/** What a data dir says about itself; persisted beside the Raft state. */
export interface LocalIdentity {
  /** The `--id` the data dir was created for. */
  readonly memberId: string;
  readonly incarnation: IdentityId;
  /** The cluster it belongs to; null until it has heard of the cluster's id. */
  readonly clusterId: IdentityId | null;
  readonly origin: DataDirOrigin;
  /**
   * The cluster has committed this incarnation as its member's: learned from the applied log or
   * from a peer that applied it. Kept here because the applied state lags the log after a
   * restart, and a member recorded before it crashed must be able to vote at once.
   */
  readonly recorded: boolean;
  /**
   * This data dir has seen the cluster being created: it bootstrapped with a peer answering
   * from the same first state, or has since heard from one (a vote asked or granted with nothing
   * beyond the first entry, or the start-up question of a member of the file about to create the
   * cluster: hello.ts), or it applied a commit index its leader vouched for with no cluster id
   * in the applied state (acceptance.ts, creationByCommit). A data dir that bootstrapped while no peer answered and has seen no
   * such sign may be a lost member's replacement: before the cluster id, it votes only for
   * candidates as new as itself (acceptance.ts, rule 6).
   */
  readonly creationSeen: boolean;
  /**
   * The digest of the cluster.nodes this data dir bootstrapped from (initial-nodes.ts); null
   * when it did not bootstrap from a file (joined, restored, legacy) or predates the field.
   * Stamped on every envelope: members whose first entries came from different files never
   * count each other's votes or follow each other's leaders (acceptance.ts, rule 1).
   */
  readonly creation: CreationDigest | null;
}

/** 64 bits of SHA-256 over a cluster's initial nodes, as 16 lowercase hex digits. */
export type CreationDigest = string;

/** The identity fields of a peer message's envelope, as received ('' when absent). */
export interface PeerEnvelope {
  readonly clusterName: unknown;
  readonly clusterId: string;
  readonly from: string;
  readonly incarnation: string;
  /** The incarnation the sender's applied state records for the receiver; '' when none. */
  readonly toIncarnation: string;
  /** The sender's LocalIdentity.creation; '' when it has none, or from an older version. */
  readonly creation: string;
  /** The sender's process, drawn at its start (process-claims.ts); '' from an older version. */
  readonly boot: string;
}

/** What the replicated members table says, as far as identity goes (applied state). */
export interface RecordedMembers {
  /** null: not a member. '' incarnation: a member the cluster has not heard from yet. */
  get(id: string): { readonly incarnation: string; readonly role: 'voter' | 'learner'; readonly address: string } | null;
  wasRemoved(incarnation: string): boolean;
  readonly clusterId: IdentityId | null;
}

export const IDENTITY_ID = /^[0-9a-f]{16}$/;
