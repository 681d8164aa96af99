/** Errors the Raft core reports to its driver. Each has a stable `code`. */
export type RaftErrorCode =
  | 'NOT_LEADER'
  | 'TRANSFER_IN_PROGRESS'
  | 'CONF_CHANGE_PENDING'
  | 'INVALID_CONF_CHANGE'
  | 'COMPACTED'
  | 'UNAVAILABLE'
  | 'SNAPSHOT_OUT_OF_DATE'
  | 'UNKNOWN_NODE'
  /** The leader holds its bound of uncommitted bytes (maxUncommittedBytes): retry once earlier entries commit. */
  | 'PROPOSAL_DROPPED'
  /** The leader's log differs from entries this node has committed: the cluster lost writes this node holds. */
  | 'DIVERGED'
  /** The leader counts entries this node acknowledged that its log no longer holds: this node lost them. */
  | 'ENTRIES_LOST';

export class RaftError extends Error {
  override readonly name = 'RaftError';
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    readonly leaderHint: string | null = null,
  ) {
    super(message);
  }
}
