/**
 * Whether a failed call never left this client. gRPC fails a call at once, before it picks a
 * connection, when the endpoint's channel has none: the connection was refused, the name did not
 * resolve, or the TLS handshake failed (grpc-js's "No connection established. Last error: ..."
 * and "Name resolution failed ...", status UNAVAILABLE). Nothing reached a controller, so the
 * write cannot have been applied, and the next attempt is no retry (client-lanes.ts): marked as
 * one, a new client's write whose first endpoint is down was refused SESSION_EXPIRED by every
 * cluster whose exactly-once table had filled (dedup.ts). A KvSession carries the stream's
 * failure in its own words ("session with X broke: UNAVAILABLE: No connection established...").
 * A failure with one of our error codes is a controller's answer, never this.
 */
import * as grpc from '@grpc/grpc-js';
import { errorCodeOf } from './errors.js';
import { asCallFailure } from './failover.js';

const NO_CONNECTION = /\bNo connection established\b|\bName resolution failed\b/;

export function neverSent(err: unknown): boolean {
  const failure = asCallFailure(err);
  if (failure === null || failure.code !== grpc.status.UNAVAILABLE) return false;
  if (errorCodeOf(failure.metadata) !== null) return false;
  return NO_CONNECTION.test(failure.details);
}
