/**
 * The client side of the Audit stream on one endpoint: events are decoded as they arrive, a
 * followed stream has no deadline (so a silent endpoint is caught while connecting), and an
 * abort ends it cleanly.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeAuditEvent, type AuditEventJson } from './answers.js';
import { controllerMethod } from './controller-proto.js';
import { ApiError } from './errors.js';
import { asCallFailure, classify, statusName } from './failover.js';

export interface AuditOptions {
  /** Events at or after this unix time in ms; 0 = all retained. */
  readonly sinceMs: number;
  readonly follow: boolean;
  /** Ends the stream; audit() then resolves normally. */
  readonly signal?: AbortSignal;
}

export interface AuditStreamContext {
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

function waitForReady(ctx: AuditStreamContext): Promise<void> {
  return new Promise((resolve, reject) => {
    ctx.channel.waitForReady(Date.now() + ctx.timeoutMs, (err) => (err ? reject(new ConnectFailure(ctx.endpoint, ctx.timeoutMs)) : resolve()));
  });
}

/**
 * Streams the events of one endpoint to onEvent. Once an event was delivered, a broken stream is
 * UNREACHABLE (final): retrying elsewhere would deliver the events so far again.
 */
export async function streamAudit(ctx: AuditStreamContext, opts: AuditOptions, onEvent: (e: AuditEventJson) => void): Promise<void> {
  if (opts.signal?.aborted === true) return;
  const { endpoint, channel } = ctx;
  const def = controllerMethod('Audit');
  if (opts.follow) await waitForReady(ctx);
  const callOptions: grpc.CallOptions = opts.follow ? {} : { deadline: Date.now() + ctx.timeoutMs };
  const request = { sinceMs: opts.sinceMs, follow: opts.follow };
  const stream = channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new grpc.Metadata(), callOptions);
  ctx.streams.add(stream);
  let delivered = 0;
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    stream.cancel();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (raw: unknown) => {
        let event: AuditEventJson;
        try {
          event = decodeAuditEvent(raw);
        } catch (err) {
          stream.cancel();
          reject(err);
          return;
        }
        delivered += 1;
        onEvent(event);
      });
      stream.on('error', (err: unknown) => {
        const failure = asCallFailure(err);
        if (aborted || ctx.closed() || failure?.code === grpc.status.CANCELLED) {
          resolve();
          return;
        }
        if (delivered > 0 && classify(err, endpoint).kind !== 'final') {
          const reason = failure === null ? String(err) : `${statusName(failure.code)}: ${failure.details}`;
          reject(new ApiError('UNREACHABLE', `lost the audit stream from ${endpoint} (${reason})`, undefined, { cause: err }));
          return;
        }
        reject(err);
      });
      stream.on('end', () => resolve());
    });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    ctx.streams.delete(stream);
  }
}
