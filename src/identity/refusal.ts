/**
 * Why a node refuses a peer's message. The code travels back to the sender in the gRPC
 * trailers (`peer-refusal`), so both sides can log, audit (`peer.refused`) and count it.
 */

export type RefusalCode =
  /** The sender's cluster name (from the file) is not ours. */
  | 'CLUSTER_NAME'
  /** The sender belongs to another cluster: same file, different cluster id. */
  | 'CLUSTER_ID'
  /** The sender is neither in the replicated membership nor in the cluster file. */
  | 'UNKNOWN_MEMBER'
  /** The sender's data dir belonged to a member that was removed. */
  | 'REMOVED_MEMBER'
  /** The sender runs another data dir than the one the cluster recorded for that member. */
  | 'SUPERSEDED_INCARNATION'
  /** A leader's message stamped for another data dir of this member (before it was rebuilt). */
  | 'OTHER_INCARNATION'
  /** The sender bootstrapped from another cluster.nodes than this node (initial-nodes.ts). */
  | 'CREATION_NODES'
  /** A leader's message from a node that has no cluster id, to a node that has one. */
  | 'NO_CLUSTER_ID'
  /** A term that leads ours by more than any run of elections could. */
  | 'TERM_LEAD'
  /** TLS is on and the caller's certificate is not a peer certificate of this cluster. */
  | 'NOT_A_PEER'
  /** The caller's peer certificate names another member than the sender it claims to be. */
  | 'WRONG_PEER'
  /** Another process of the sender's member id is heard: a copied data dir (process-claims.ts). */
  | 'DUPLICATE_PROCESS'
  /** An identity field of the envelope (a boot id, an incarnation, ...) is not an id (envelope-format.ts). */
  | 'MALFORMED_ENVELOPE';

export const REFUSAL_CODES: readonly RefusalCode[] = [
  'CLUSTER_NAME',
  'CLUSTER_ID',
  'UNKNOWN_MEMBER',
  'REMOVED_MEMBER',
  'SUPERSEDED_INCARNATION',
  'OTHER_INCARNATION',
  'CREATION_NODES',
  'NO_CLUSTER_ID',
  'TERM_LEAD',
  'NOT_A_PEER',
  'WRONG_PEER',
  'DUPLICATE_PROCESS',
  'MALFORMED_ENVELOPE',
];

export interface Refusal {
  readonly code: RefusalCode;
  /** One line naming both sides: what we expected and what the sender presented. */
  readonly reason: string;
}

export const REFUSAL_METADATA_KEY = 'peer-refusal';

export function isRefusalCode(v: unknown): v is RefusalCode {
  return typeof v === 'string' && (REFUSAL_CODES as readonly string[]).includes(v);
}
