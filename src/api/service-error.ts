/**
 * How the server reports a failure: a gRPC status plus trailing metadata `error-code`, which
 * `ctl` maps to its exit codes. A connection-level failure has no `error-code`, which is how
 * a client tells "this endpoint is down" from "this endpoint said no".
 */
import * as grpc from '@grpc/grpc-js';
import { RaftError } from '../raft/errors.js';
import { CommandError } from '../statemachine/index.js';
import { HostError, leaderErrorOf } from './consensus-port.js';
import { type ApiErrorCode, errorCodeOf, NOT_PROPOSED_METADATA_KEY, serviceError } from './errors.js';

export class ServiceFailure extends Error {
  override readonly name = 'ServiceFailure';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** Refused before anything of the request was proposed or forwarded (errors.ts NOT_PROPOSED_METADATA_KEY). */
    readonly notProposed = false,
  ) {
    super(message);
  }
}

export function toServiceError(err: unknown): grpc.ServiceError {
  const f = toServiceFailure(err);
  const status = serviceError(f.code, f.message, f.notProposed);
  return Object.assign(new Error(status.details), status) as grpc.ServiceError;
}

/** The code and message a client sees for any error a handler threw. */
export function toServiceFailure(err: unknown): ServiceFailure {
  if (err instanceof ServiceFailure) return err;
  if (err instanceof CommandError) return new ServiceFailure('INVALID_ARGUMENT', err.message);
  const notLeading = leaderErrorOf(err);
  if (notLeading !== null) return new ServiceFailure(notLeading.code, notLeading.message);
  if (err instanceof HostError) {
    switch (err.code) {
      case 'NOT_LEADER': // read by leaderErrorOf above
      case 'NO_LEADER':
      case 'TIMEOUT':
      case 'SHUTTING_DOWN':
      case 'INVALID_ARGUMENT':
        return new ServiceFailure(err.code, err.message);
      case 'STORAGE_FAILED':
        return new ServiceFailure('INTERNAL', err.message);
      case 'LEADERSHIP_LOST':
        // Another endpoint reaches the new leader; the client's retry carries its client ref.
        return new ServiceFailure('NOT_LEADER', err.message);
    }
  }
  if (err instanceof RaftError) {
    switch (err.code) {
      case 'NOT_LEADER': // read by leaderErrorOf above
      case 'TRANSFER_IN_PROGRESS':
        return new ServiceFailure('NOT_LEADER', err.message);
      case 'CONF_CHANGE_PENDING':
        return new ServiceFailure('CONF_CHANGE_PENDING', err.message);
      case 'INVALID_CONF_CHANGE':
        return new ServiceFailure('INVALID_ARGUMENT', err.message);
      case 'UNKNOWN_NODE':
        return new ServiceFailure('UNKNOWN_NODE', err.message);
      case 'PROPOSAL_DROPPED':
        // The leader's bound of uncommitted bytes: nothing was appended, a retry is safe.
        return new ServiceFailure('RESOURCE_EXHAUSTED', err.message);
      case 'COMPACTED':
      case 'UNAVAILABLE':
      case 'SNAPSHOT_OUT_OF_DATE':
      case 'DIVERGED':
      case 'ENTRIES_LOST':
        return new ServiceFailure('INTERNAL', err.message);
    }
  }
  return new ServiceFailure('INTERNAL', err instanceof Error ? err.message : String(err));
}

/**
 * Recovers the server's failure from a forwarded call's error, so it passes through unchanged;
 * its `not-proposed` speaks of that one forward (on-leader.ts weighs the earlier ones).
 */
export function fromServiceError(err: unknown): ServiceFailure | null {
  if (typeof err !== 'object' || err === null || !('metadata' in err)) return null;
  const md = (err as { metadata?: unknown }).metadata;
  const code = md instanceof grpc.Metadata ? errorCodeOf(md) : null;
  if (code === null) return null;
  const notProposed = md instanceof grpc.Metadata && md.get(NOT_PROPOSED_METADATA_KEY)[0] === 'true';
  return new ServiceFailure(code, (err as { details?: string }).details ?? 'forwarded call failed', notProposed);
}
