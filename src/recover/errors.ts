/** Why `controller recover` refuses, each with a stable code and the exit code the contract gives it. */
export type RecoverErrorCode =
  /** No Raft state in the data dir: nothing to recover from. */
  | 'EMPTY_DATA_DIR'
  /** A controller process holds the data dir. */
  | 'NODE_RUNNING'
  /** --members names an id the log's configuration does not have. */
  | 'UNKNOWN_MEMBER'
  /** --members is malformed, or leaves out the node being recovered. */
  | 'INVALID_MEMBERS'
  /** The node is not a member of the configuration in its own log. */
  | 'NOT_A_MEMBER'
  /** Reading or writing the data dir failed. */
  | 'STORAGE_FAILED'
  /** The other voters still run and form a quorum: recovery would make a second cluster. */
  | 'QUORUM_ALIVE';

export class RecoverError extends Error {
  override readonly name = 'RecoverError';
  constructor(
    readonly code: RecoverErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** 2 for what the operator must change (usage, a running node, an empty data dir); 1 for a failed read or write. */
  get exitCode(): number {
    return this.code === 'STORAGE_FAILED' ? 1 : 2;
  }
}
