/**
 * Turns errors thrown by LevelDB (abstract-level's ModuleError, with a `code` and often a
 * `cause` carrying the real reason) into our storage errors.
 */
import { DataDirLockedError, StorageCorruptionError, StorageIoError } from './errors.js';

function field(err: unknown, name: 'code' | 'message' | 'cause'): unknown {
  return typeof err === 'object' && err !== null && name in err ? (err as Record<string, unknown>)[name] : undefined;
}

/** "message (CODE): cause message (CAUSE_CODE)", following the cause chain a few levels. */
export function describeLevelError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur !== undefined && cur !== null; depth++) {
    const message = field(cur, 'message');
    const code = field(cur, 'code');
    const text = typeof message === 'string' ? message : String(cur);
    parts.push(typeof code === 'string' ? `${text} (${code})` : text);
    cur = field(cur, 'cause');
  }
  return parts.join(': ');
}

/** True if `code` appears anywhere in the cause chain. */
function hasCode(err: unknown, code: string): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur !== undefined && cur !== null; depth++) {
    if (field(cur, 'code') === code) return true;
    cur = field(cur, 'cause');
  }
  return false;
}

/** A failed write: the node must stop, since it can no longer promise durability. */
export function writeError(dir: string, err: unknown): StorageIoError {
  const hint = hasCode(err, 'LEVEL_DATABASE_NOT_OPEN')
    ? 'The storage was already closed: the node was shutting down or a write came after close()'
    : 'Check free disk space and permissions on the data dir, then restart the node';
  return new StorageIoError(
    `raft storage write to ${dir} failed: ${describeLevelError(err)}. ` +
      `Expected a durable write; the node stops rather than acknowledge entries or votes it may lose. ${hint}`,
    { cause: err },
  );
}

/** A failed read or open; LevelDB's own corruption reports become StorageCorruptionError. */
export function readError(dir: string, what: string, err: unknown): StorageIoError | StorageCorruptionError {
  if (hasCode(err, 'LEVEL_CORRUPTION')) {
    return new StorageCorruptionError(dir, what, `LevelDB reports corrupt files: ${describeLevelError(err)}`, { cause: err });
  }
  return new StorageIoError(
    `raft storage at ${dir}: cannot read ${what}: ${describeLevelError(err)}. ` +
      'Check that no other controller process uses this data dir and that it is readable',
    { cause: err },
  );
}

/** LevelDB failed to open: most often another process holds the lock. */
export function openError(dir: string, err: unknown): StorageIoError | StorageCorruptionError {
  if (hasCode(err, 'LEVEL_CORRUPTION')) return readError(dir, 'the database files', err);
  if (hasCode(err, 'LEVEL_LOCKED')) {
    const hint = 'Another controller process holds this data dir; stop it or give this node its own data_dir';
    return new DataDirLockedError(`cannot open raft storage at ${dir}: ${describeLevelError(err)}. ${hint}`, { cause: err });
  }
  const hint = 'Check that the data dir exists, is writable and is not used by another controller process';
  return new StorageIoError(`cannot open raft storage at ${dir}: ${describeLevelError(err)}. ${hint}`, { cause: err });
}

/**
 * LevelDB failed to open the audit trail's database (a full disk, a damaged file): named with
 * its dir and cause, as the Raft database's failure is. It came out as LevelDB's bare "Database
 * failed to open", naming neither (attack round 61).
 */
export function auditOpenError(dir: string, err: unknown): StorageIoError {
  return new StorageIoError(
    `cannot open the audit trail at ${dir}: ${describeLevelError(err)}. Check free disk space and permissions on the data dir; ` +
      `if its files are damaged, move ${dir} aside: the controller starts a new, empty audit trail (the Raft state is elsewhere, in raft/)`,
    { cause: err },
  );
}
