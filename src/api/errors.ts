/**
 * Error codes of the client API, shared by the server (which sets them) and `ctl` (which maps
 * them to exit codes). The gRPC status alone is not enough: UNAVAILABLE from a dead socket and
 * UNAVAILABLE from a live node without a leader call for different reactions, so the server
 * names the reason in the trailing metadata entry `error-code`.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../util/error-message.js';

export const API_ERROR_CODES = [
  'NO_LEADER',
  'CAS_FAILED',
  'NOT_FOUND',
  'INVALID_ARGUMENT',
  'NOT_LEADER',
  'CONF_CHANGE_PENDING',
  'TIMEOUT',
  'UNKNOWN_NODE',
  'SHUTTING_DOWN',
  'INTERNAL',
  'COMPACTED',
  'CONFLICT',
  'FAILED_PRECONDITION', // the state refuses the change (a route names a missing service, ...)
  'NO_QUORUM',
  // A retried request older than its client id's latest: for a controller's own report, someone else used its id.
  'STALE_REQUEST',
  // The write would take the state past controller.quota_bytes (state-quota.ts); deletes still pass.
  'NO_SPACE',
  // A bound on what one client or all clients may hold on a controller (watches: watch-limits.ts).
  'RESOURCE_EXHAUSTED',
  // A retried write whose exactly-once record the cluster may have dropped: its outcome is unknown, nothing applied.
  'SESSION_EXPIRED',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** What a client can see: a server's code, or no server answered at all. */
export type ClientErrorCode = ApiErrorCode | 'UNREACHABLE';

export const ERROR_CODE_METADATA_KEY = 'error-code';
/**
 * Trailing metadata `not-proposed: true` beside an `error-code`: the controller the request
 * reached refused it before proposing or forwarding anything of it (cut off from a quorum, no
 * leader), so the client's next attempt of a write is no retry (client-lanes.ts).
 */
export const NOT_PROPOSED_METADATA_KEY = 'not-proposed';

/** The gRPC status a server should send with each code (the metadata carries the precise reason). */
export const GRPC_STATUS_FOR: Readonly<Record<ApiErrorCode, grpc.status>> = {
  NO_LEADER: grpc.status.UNAVAILABLE,
  CAS_FAILED: grpc.status.FAILED_PRECONDITION,
  NOT_FOUND: grpc.status.NOT_FOUND,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_LEADER: grpc.status.UNAVAILABLE,
  CONF_CHANGE_PENDING: grpc.status.FAILED_PRECONDITION,
  TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  UNKNOWN_NODE: grpc.status.NOT_FOUND,
  SHUTTING_DOWN: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
  COMPACTED: grpc.status.OUT_OF_RANGE,
  CONFLICT: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  // The answering node is cut off from a quorum: another endpoint may serve (failover.ts).
  NO_QUORUM: grpc.status.UNAVAILABLE,
  STALE_REQUEST: grpc.status.FAILED_PRECONDITION,
  NO_SPACE: grpc.status.RESOURCE_EXHAUSTED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  // Not UNAVAILABLE: the client must not re-send it blindly (failover.ts treats it as final).
  SESSION_EXPIRED: grpc.status.ABORTED,
};

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && (API_ERROR_CODES as readonly string[]).includes(value);
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** The gRPC status the call ended with; UNAVAILABLE for UNREACHABLE. */
    readonly grpcCode: number = code === 'UNREACHABLE' ? grpc.status.UNAVAILABLE : GRPC_STATUS_FOR[code],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A bad command line or local configuration (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

/**
 * A TLS file `ctl` (or an agent) was given is unusable: unreadable, not PEM, or a key that does
 * not match its certificate. The contract's exit code for a TLS failure is 3; the message names
 * TLS, the flag, the file and the cause.
 */
export class TlsFilesError extends Error {
  override readonly name = 'TlsFilesError';
  readonly code = 'TLS_FILES';
}

/**
 * grpc-js's account of a deadline: `Deadline exceeded after 5.001s,name resolution: 0.001s,...`
 * and then `remote_addr=HOST:PORT` (a connection carried the call) or `Waiting for LB pick` (none
 * came up). An operator reading `ctl endpoint status` on a paused process got all of it (ops55).
 */
const GRPC_DEADLINE = /^Deadline exceeded after ([^,]+),(.*)$/s;

/** grpc-js ends a connection failure with an empty "Resolution note: ", which an operator
 * reads as a truncated message; its deadline text is put in words (GRPC_DEADLINE). */
export function tidyDetails(details: string): string {
  const deadline = GRPC_DEADLINE.exec(details);
  if (deadline !== null) {
    const remote = /remote_addr=([^,\s]+)/.exec(deadline[2]!)?.[1];
    if (remote !== undefined) return `no answer within ${deadline[1]} from ${remote}: connected, but it did not answer (paused, overloaded or stuck?)`;
    if (deadline[2]!.includes('Waiting for LB pick')) return `no connection came up within ${deadline[1]}`;
    return `deadline exceeded after ${deadline[1]}`;
  }
  return details.replace(/\s*Resolution note: $/, '');
}

/**
 * Server side: the status object to pass to a gRPC callback or `call.emit('error', ...)`. Its
 * details travel as the `grpc-message` trailer, percent-encoded: they are held to the bound of
 * every error a controller sends (error-message.ts), so an echoed input of any size neither
 * passes HTTP/2's header list limit (64 KiB in Node: such a trailer never reached the client,
 * which waited out its deadline) nor carries half a surrogate pair (grpc-js's encodeURI throws).
 */
export function serviceError(code: ApiErrorCode, details: string, notProposed = false): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, code);
  if (notProposed) metadata.set(NOT_PROPOSED_METADATA_KEY, 'true');
  return { code: GRPC_STATUS_FOR[code], details: errorMessage(details), metadata };
}

/** The `error-code` a failed call carried, or null when there was none (or an unknown one). */
export function errorCodeOf(metadata: grpc.Metadata | undefined): ApiErrorCode | null {
  const raw = metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const text = raw instanceof Buffer ? raw.toString('utf8') : raw;
  return isApiErrorCode(text) ? text : null;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;
export const EXIT_NOT_FOUND = 4;

function hasCode(err: unknown): err is { readonly code: unknown } {
  return typeof err === 'object' && err !== null && 'code' in err;
}

/**
 * The contract's exit codes: 4 not found, 2 usage or config errors (including invalid
 * arguments the server refused), 3 no endpoint reachable, 1 any other failure.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'NOT_FOUND':
      case 'UNKNOWN_NODE': // a member id that is not in the cluster is "not found" to an operator
        return EXIT_NOT_FOUND;
      case 'INVALID_ARGUMENT':
        return EXIT_USAGE;
      case 'UNREACHABLE':
        return EXIT_UNREACHABLE;
      case 'NO_LEADER':
      case 'CAS_FAILED':
      case 'NOT_LEADER':
      case 'CONF_CHANGE_PENDING':
      case 'TIMEOUT':
      case 'SHUTTING_DOWN':
      case 'INTERNAL':
      case 'COMPACTED': // a watch from a revision older than the answering node's history
      case 'CONFLICT': // e.g. adding a member id that exists with another address
      case 'FAILED_PRECONDITION':
      case 'NO_QUORUM':
      case 'STALE_REQUEST':
      case 'NO_SPACE':
      case 'RESOURCE_EXHAUSTED':
      case 'SESSION_EXPIRED':
        return EXIT_FAILED;
      default: {
        const unreachable: never = err.code;
        return unreachable;
      }
    }
  }
  if (err instanceof UsageError) return EXIT_USAGE;
  if (err instanceof TlsFilesError) return EXIT_UNREACHABLE;
  // Errors from other modules that mean "bad input": config loading and duration parsing.
  if (hasCode(err) && (err.code === 'DURATION_INVALID' || err.code === 'CONFIG_INVALID')) return EXIT_USAGE;
  return EXIT_FAILED;
}
