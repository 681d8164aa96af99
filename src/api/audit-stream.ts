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
import { waitForReady, type StreamContext } from './stream-context.js';

export interface AuditOptions {
  /** Events at or after this unix time in ms; 0 = all retained. */
  readonly sinceMs: number;
  readonly follow: boolean;
  /** Ends the stream; audit() then resolves normally. */
  readonly signal?: AbortSignal;
}

/**
 * Streams the events of one endpoint to onEvent. Once an event was delivered, a broken stream is
 * UNREACHABLE (final): retrying elsewhere would deliver the events so far again.
 */
export async function streamAudit(ctx: StreamContext, opts: AuditOptions, onEvent: (e: AuditEventJson) => void): Promise<void> {
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
