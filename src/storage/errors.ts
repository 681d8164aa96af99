/**
 * Errors of the durable Raft storage. Each has a stable `code` the CLI maps to an exit code.
 */

/** The stored data fails verification. Never repaired silently: truncating a Raft log can
 * lose acknowledged writes, so the operator decides (rebuild the member from its peers, or
 * restore a cluster from a snapshot file; never put back a copy of the data dir). */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';
  readonly code = 'STORAGE_CORRUPT';
  constructor(
    readonly dir: string,
    /** The LevelDB key that failed verification, e.g. `e000000000000002a`. */
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `raft storage at ${dir} is corrupt at key ${key}: ${detail}. ` +
        'Refusing to start rather than lose acknowledged data. The data dir may hold the only copy of some writes: ' +
        'move it aside, never delete it nor put back an older copy of it (an older log under the identity the cluster trusts can ' +
        'elect a leader without acknowledged writes); then rebuild the member: ctl member remove ID; ctl member add ID ADDRESS; ' +
        'start it with an empty data dir and --join (docs/operate.md, "Rebuilding a lost member"). With every member lost, ' +
        'start a new cluster from a `ctl snapshot save` file (controller restore; "Backup and restore")',
      options,
    );
  }
}

/**
 * A LevelDB directory with data files but no CURRENT (lost-current.ts), refused before LevelDB
 * opens it: the open itself would delete its tables. A corruption, as a failed checksum is.
 */
export class StorageLostCurrentError extends Error {
  override readonly name = 'StorageLostCurrentError';
  readonly code = 'STORAGE_CORRUPT';
  /** `otherwise`: what to do when CURRENT cannot be written back. */
  constructor(
    readonly dir: string,
    detail: string,
    otherwise: string,
  ) {
    super(`refusing to open the database at ${dir}: ${detail}. Otherwise ${otherwise}`);
  }
}

/** LevelDB could not read or write (disk full, I/O error, database closed or locked). The
 * driver stops the node: continuing without durable votes and entries would be unsafe. */
export class StorageIoError extends Error {
  override readonly name = 'StorageIoError';
  readonly code = 'STORAGE_IO';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Another process holds the data dir's lock: the data dir cannot be used, a config error
 * (controller exits 2, as for a data dir it cannot create or write). */
export class DataDirLockedError extends StorageIoError {
  readonly exitCode = 2;
}

/** The caller broke the storage's preconditions (a gap in appended entries, an out-of-date
 * snapshot, overlapping calls after a failure): a bug in the driver, not in the disk. */
export class StorageUsageError extends Error {
  override readonly name = 'StorageUsageError';
  readonly code = 'STORAGE_USAGE';
}
