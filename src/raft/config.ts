/** Settings of one Raft node. Time is counted in ticks; the driver decides how long a tick is. */
import type { Rng } from '../util/rng.js';
import type { LogStorage } from './storage.js';
import type { NodeId } from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: LogStorage;
  readonly rng: Rng;
  /** Followers campaign after a random timeout in [electionTicks, 2 x electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Last index the state machine has applied (from its snapshot) when the node starts. */
  readonly applied: number;
  /** Bytes of entries per append message. */
  readonly maxMessageBytes: number;
  /** Append messages in flight per follower in replicate state. */
  readonly maxInflight: number;
  /** Bytes of committed entries handed to the driver per Ready. */
  readonly maxApplyBytes: number;
  /**
   * Bytes of entries a leader holds uncommitted before it refuses proposals
   * (PROPOSAL_DROPPED; etcd's MaxUncommittedEntriesSize). 0 or absent: no bound.
   */
  readonly maxUncommittedBytes?: number;
  /**
   * Whether this node's own vote may count now: asked before every campaign (pre-vote, election,
   * transfer). The identity layer's vote rules apply to the candidate's vote for itself as to
   * any other: a data dir that may not vote for a candidate with its log must not elect itself
   * either (src/identity/acceptance.ts). Absent: always.
   */
  readonly mayCampaign?: () => boolean;
}

export function validateRaftConfig(c: RaftConfig): void {
  if (c.id === '') throw new Error('raft config: id must not be empty');
  if (c.heartbeatTicks <= 0) throw new Error(`raft config: heartbeatTicks must be > 0, got ${c.heartbeatTicks}`);
  if (c.electionTicks <= c.heartbeatTicks) {
    throw new Error(`raft config: electionTicks (${c.electionTicks}) must exceed heartbeatTicks (${c.heartbeatTicks})`);
  }
  if ((c.maxUncommittedBytes ?? 0) < 0) throw new Error(`raft config: maxUncommittedBytes must be >= 0, got ${c.maxUncommittedBytes}`);
  if (c.maxInflight <= 0) throw new Error(`raft config: maxInflight must be > 0, got ${c.maxInflight}`);
}
