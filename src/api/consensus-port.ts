/**
 * What the client API needs from consensus, and nothing more: propose and wait for the result,
 * change the configuration, a linearizable read barrier, status, waits for a leader, and
 * leadership transfer. RaftHost implements it (src/node is the composition root that plugs the
 * two together); the API's handlers are tested against a fake.
 *
 * Errors: a port operation fails with a HostError. NOT_LEADER and NO_LEADER mean "leadership
 * is elsewhere or unknown, retry", and leaderErrorOf is the one place that reads them.
 */
import { RaftError, type ConfEntry, type ConfState, type NodeId, type Role, type SoftState } from '../raft/index.js';
import type { ApplyResult } from '../statemachine/index.js';

/** The part of the core's status the API reads (RaftHost.status() returns a superset). */
export interface ConsensusStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly role: Role;
  readonly commit: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly conf: ConfState;
  /** Only on the leader: how far each member's log matches the leader's. */
  readonly progress: ReadonlyMap<NodeId, { readonly match: number }>;
}

export interface ConsensusPort {
  readonly id: NodeId;
  /** Proposes a state-machine command on this node (which must lead) and waits for it to apply. */
  propose(data: Uint8Array, timeoutMs: number): Promise<ApplyResult>;
  /** Proposes a configuration change on this node (which must lead) and waits for it to apply. */
  proposeConfChange(change: ConfEntry, timeoutMs: number): Promise<ApplyResult>;
  /** Resolves once this node's state machine reflects every write committed before the call. */
  readBarrier(timeoutMs: number): Promise<void>;
  status(): ConsensusStatus;
  softState(): SoftState;
  snapshotIndex(): number;
  /** Resolves with the leader once one is known, or null when the time is up. */
  waitForLeader(timeoutMs: number): Promise<NodeId | null>;
  /** Asks the core to hand leadership to `to`; the change shows in softState() when done. */
  transferLeadership(to: NodeId): void;
  /** Hands leadership to the most up-to-date voter; resolves with it, or null if none took it. */
  handOffLeadership(): Promise<NodeId | null>;
  /** Ms this node, as leader, has held entries it could not commit; 0 when it has none. */
  commitStallMs(): number;
}

/** Errors of a consensus port, with codes the API maps to gRPC statuses and ctl exit codes. */
export type HostErrorCode =
  | 'NOT_LEADER'
  | 'NO_LEADER'
  | 'TIMEOUT'
  | 'SHUTTING_DOWN'
  | 'STORAGE_FAILED'
  | 'INVALID_ARGUMENT'
  /**
   * The node stopped leading while the proposal waited: its entry may yet commit under the new
   * leader, or may be gone (etcd's "leader changed"). Not a LeaderError: proposing it again here
   * could apply it twice; the client retries it with its exactly-once id (API code NOT_LEADER).
   */
  | 'LEADERSHIP_LOST';

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly code: HostErrorCode,
    message: string,
    readonly leaderHint: string | null = null,
  ) {
    super(message);
  }
}

/** A HostError whose code says where leadership is: elsewhere (NOT_LEADER) or nowhere (NO_LEADER). */
export type LeaderError = HostError & { readonly code: 'NOT_LEADER' | 'NO_LEADER' };

/**
 * The one translation of "this node cannot lead this request": from the port, or from the core
 * should one of its refusals get through (NOT_LEADER, or a transfer in progress). null for
 * anything else. A caller retries on a LeaderError until its deadline.
 */
export function leaderErrorOf(err: unknown): LeaderError | null {
  if (err instanceof HostError) return err.code === 'NOT_LEADER' || err.code === 'NO_LEADER' ? (err as LeaderError) : null;
  if (!(err instanceof RaftError)) return null;
  switch (err.code) {
    case 'NOT_LEADER':
      return new HostError(err.leaderHint ? 'NOT_LEADER' : 'NO_LEADER', err.message, err.leaderHint) as LeaderError;
    case 'TRANSFER_IN_PROGRESS':
      return new HostError('NOT_LEADER', err.message, err.leaderHint) as LeaderError;
    case 'CONF_CHANGE_PENDING':
    case 'INVALID_CONF_CHANGE':
    case 'COMPACTED':
    case 'UNAVAILABLE':
    case 'SNAPSHOT_OUT_OF_DATE':
    case 'UNKNOWN_NODE':
    case 'PROPOSAL_DROPPED':
    case 'DIVERGED':
    case 'ENTRIES_LOST':
      return null;
  }
}
