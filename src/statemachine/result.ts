/**
 * What applying one command produced. Failures that depend only on the state (a lost
 * compare-and-set, a missing key) are results, not exceptions: every node computes the same
 * one, and the proposer hands it back to the client.
 */
export type FailureCode =
  | 'CAS_FAILED' // the compare-and-set precondition did not hold
  | 'NOT_FOUND' // the target key or member does not exist
  | 'STALE_REQUEST' // a client retried a request older than its latest
  | 'INVALID' // the entry is not a valid command; nothing was applied
  | 'IGNORED' // valid but superseded (an older term's decision, an already-applied index)
  | 'CONFLICT' // the target already exists or is in the wrong state for this command
  | 'SESSION_EXPIRED'; // a retry whose client record may have been dropped: its outcome is unknown; nothing applied

export interface ApplyOk {
  readonly ok: true;
  /** The global revision after the command (unchanged when the command changed nothing). */
  readonly revision: number;
  /** Command-specific detail; plain JSON so it can be cached in snapshots. */
  readonly value?: unknown;
}

export interface ApplyFailure {
  readonly ok: false;
  readonly code: FailureCode;
  readonly message: string;
  /** For CAS_FAILED: the key's modRevision now (0 when it does not exist). */
  readonly currentRevision?: number;
}

export type ApplyResult = ApplyOk | ApplyFailure;

export function okResult(revision: number, value?: unknown): ApplyOk {
  return value === undefined ? { ok: true, revision } : { ok: true, revision, value };
}

export function failure(code: FailureCode, message: string, currentRevision?: number): ApplyFailure {
  return currentRevision === undefined
    ? { ok: false, code, message }
    : { ok: false, code, message, currentRevision };
}
