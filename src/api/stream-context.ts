/**
 * What a server stream on one endpoint needs from the client that opens it, and the wait for
 * the channel to connect (a followed stream has no deadline, so a dead endpoint is caught here).
 */
import * as grpc from '@grpc/grpc-js';
import { channelSettled } from './channel-settled.js';
import { ApiError, ERROR_CODE_METADATA_KEY } from './errors.js';
import { asCallFailure, classify, statusName } from './failover.js';

export interface StreamContext {
  readonly endpoint: string;
  readonly channel: grpc.Client;
  readonly timeoutMs: number;
  /** Where the open stream registers, so closing the client cancels it. */
  readonly streams: Set<grpc.ClientReadableStream<unknown>>;
  /** The client was closed: a cancelled stream is then a normal end. */
  readonly closed: () => boolean;
}

/** Thrown when the channel could not connect in time; shaped as a gRPC failure for the failover. */
class ConnectFailure extends Error {
  readonly code = grpc.status.UNAVAILABLE;
  readonly details: string;
  constructor(endpoint: string, timeoutMs: number) {
    super(`could not connect to ${endpoint} within ${timeoutMs}ms`);
    this.details = this.message;
  }
}

/**
 * Waits while the channel is connecting, at most the timeout (a hung endpoint accepts TCP and
 * never speaks HTTP/2). A channel whose connection failed (refused, unresolvable, a TLS
 * handshake) is not waited for: the stream then fails at once with that cause, as a unary call
 * does, and the failover moves on, instead of waiting out the timeout for a known-dead endpoint.
 */
export async function waitForReady(ctx: StreamContext): Promise<void> {
  if (!(await channelSettled(ctx.channel.getChannel(), Date.now() + ctx.timeoutMs))) throw new ConnectFailure(ctx.endpoint, ctx.timeoutMs);
}

/**
 * What a stream's error means: null when it is a normal end (aborted, or the client closed),
 * else the error to reject with; a reset by the server is UNREACHABLE. Once something was delivered, a broken stream is
 * UNREACHABLE (final): retrying elsewhere would deliver it again.
 */
export interface StreamFailureContext {
  readonly aborted: boolean;
  readonly delivered: number;
  /** What the stream is, for messages: "the watch", "the audit stream". */
  readonly what: string;
  /** Why a controller cuts such a stream off for a limit (a reset with ENHANCE_YOUR_CALM), for the message. */
  readonly cutOffRule: string;
}

/** Why a controller cuts off a watch: its undrained-bytes budget (watch-limits.ts). */
export const WATCH_CUT_OFF_RULE = 'a controller cuts off the watch whose changes have waited longest unread when its watches reach their budget';

export function streamFailure(err: unknown, ctx: StreamContext, s: StreamFailureContext): unknown {
  const failure = asCallFailure(err);
  if (s.aborted || ctx.closed()) return null;
  // Not cancelled here, so the server reset the stream: it stopped, or cut off a client that had
  // left what it was sent unread (a watch, when the controller's watchers reach their budget).
  if (failure?.code === grpc.status.CANCELLED) {
    return new ApiError('UNREACHABLE', `${ctx.endpoint} reset ${s.what} after ${s.delivered} messages (a controller resets a stream whose client leaves what it is sent unread, and its streams when it stops)`, undefined, { cause: err });
  }
  // Reset with ENHANCE_YOUR_CALM (no status of ours, so no error code): cut off for a limit. A
  // message over this client's own receive limit is RESOURCE_EXHAUSTED too, and is no cut-off.
  const ownLimit = failure !== null && /larger than max/i.test(failure.details);
  if (failure?.code === grpc.status.RESOURCE_EXHAUSTED && !ownLimit && (failure.metadata?.get(ERROR_CODE_METADATA_KEY).length ?? 0) === 0) {
    return new ApiError('RESOURCE_EXHAUSTED', `${ctx.endpoint} cut off ${s.what} after ${s.delivered} messages to bound its memory (${failure.details}): ${s.cutOffRule}`, undefined, { cause: err });
  }
  if (s.delivered > 0 && classify(err, ctx.endpoint).kind !== 'final') {
    const reason = failure === null ? String(err) : `${statusName(failure.code)}: ${failure.details}`;
    return new ApiError('UNREACHABLE', `lost ${s.what} from ${ctx.endpoint} (${reason})`, undefined, { cause: err });
  }
  return err;
}
