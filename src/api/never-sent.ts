/**
 * Whether a failed attempt of a write cannot have been applied, so the client's next attempt is
 * no retry (client-lanes.ts): marked as one, it is refused SESSION_EXPIRED by a cluster whose
 * exactly-once table has filled (dedup.ts; ctl uses a new id per run, so a table fills and stays
 * full), though applying it would be safe. Two cases:
 *
 * - It never left this client. gRPC fails a call at once, before it picks a connection, when the
 *   endpoint's channel has none: the connection was refused, the name did not resolve, or the
 *   TLS handshake failed (grpc-js's "No connection established. Last error: ..." and "Name
 *   resolution failed ...", status UNAVAILABLE, no `error-code`). A KvSession carries the
 *   stream's failure in its own words ("session with X broke: UNAVAILABLE: No connection
 *   established..."). A failure with one of our error codes is a controller's answer, never this.
 * - The controller it reached says it refused it before proposing or forwarding anything
 *   (`not-proposed`, on-leader.ts): cut off from a quorum, or no leader.
 */
import * as grpc from '@grpc/grpc-js';
import { errorCodeOf, NOT_PROPOSED_METADATA_KEY } from './errors.js';
import { asCallFailure } from './failover.js';

const NO_CONNECTION = /\bNo connection established\b|\bName resolution failed\b/;

export function neverSent(err: unknown): boolean {
  const failure = asCallFailure(err);
  if (failure === null || failure.code !== grpc.status.UNAVAILABLE) return false;
  if (errorCodeOf(failure.metadata) !== null) return false;
  return NO_CONNECTION.test(failure.details);
}

/** The controller's word that nothing of the request was proposed (`not-proposed: true` beside an `error-code`). */
export function saidNotProposed(err: unknown): boolean {
  const md = asCallFailure(err)?.metadata;
  return errorCodeOf(md) !== null && md?.get(NOT_PROPOSED_METADATA_KEY)[0] === 'true';
}

export function cannotHaveApplied(err: unknown): boolean {
  return neverSent(err) || saidNotProposed(err);
}
