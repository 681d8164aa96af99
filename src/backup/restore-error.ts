/** Why `controller restore` refused or failed, with the exit code it stops with. */
export type RestoreErrorCode = 'SNAPSHOT_UNREADABLE' | 'SNAPSHOT_INVALID' | 'NODE_RUNNING' | 'DATA_DIR_NOT_EMPTY' | 'NO_SPACE' | 'WRITE_FAILED';

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
  constructor(
    readonly code: RestoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** 2 for what the operator must change (a running node, the data dir); 1 for a file that cannot be used or a disk that cannot hold it. */
  get exitCode(): number {
    return this.code === 'DATA_DIR_NOT_EMPTY' || this.code === 'NODE_RUNNING' ? 2 : 1;
  }
}
