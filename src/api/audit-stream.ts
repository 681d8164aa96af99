/**
 * The client side of the Audit stream on one endpoint: events are decoded as they arrive, and an
 * abort ends it cleanly. No stream has a deadline for the whole (a silent endpoint is caught
 * while connecting): a followed one runs until stopped, and a listing of the default 100,000
 * events outlasted the default 5 s timeout on a loaded host (an adversarial test). A listing
 * instead fails when nothing arrives for the timeout: an endpoint that stalls, not a long trail.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeAuditMessage, type AuditDroppedJson, type AuditEventJson, type AuditMessageJson } from './answers.js';
import { controllerMethod } from './controller-proto.js';
import { streamFailure, waitForReady, type StreamContext } from './stream-context.js';

/** Why a controller cuts off an audit follow: the follows' budget of unread bytes (audit-follows.ts). */
export const AUDIT_CUT_OFF_RULE =
  'a controller cuts off the audit follow whose events have waited longest unread when its follows reach their budget; follow again with --since';

export interface AuditOptions {
  /** Events at or after this unix time in ms; 0 = all retained. */
  readonly sinceMs: number;
  /**
   * Events from the last this many ms by the server's clock, which wins over sinceMs where the
   * server knows the field (sinceMs is what an older server uses); absent: sinceMs alone.
   */
  readonly sinceAgoMs?: number;
  readonly follow: boolean;
  /** Ends the stream; audit() then resolves normally. */
  readonly signal?: AbortSignal;
  /**
   * Called with the server's notes: the answering controller's trail lacks events it could not
   * write. Given, the request asks for notes; older servers send none.
   */
  readonly onDropped?: (d: AuditDroppedJson) => void;
}

/**
 * Streams the events of one endpoint to onEvent. Once an event was delivered, a broken stream is
 * UNREACHABLE (final): retrying elsewhere would deliver the events so far again.
 */
export async function streamAudit(ctx: StreamContext, opts: AuditOptions, onEvent: (e: AuditEventJson) => void): Promise<void> {
  if (opts.signal?.aborted === true) return;
  const { channel } = ctx;
  const def = controllerMethod('Audit');
  await waitForReady(ctx);
  const request = { sinceMs: opts.sinceMs, follow: opts.follow, notes: opts.onDropped !== undefined, sinceAgoMs: opts.sinceAgoMs ?? 0 };
  const stream = channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new grpc.Metadata(), {});
  ctx.streams.add(stream);
  let delivered = 0;
  let aborted = false;
  // A listing's idle deadline: armed at the start and again at each event.
  let stalled: Error | null = null;
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (opts.follow) return;
    clearTimeout(idle);
    idle = setTimeout(() => {
      const details = `nothing arrived for ${ctx.timeoutMs}ms after ${delivered} events (--timeout sets how long to wait)`;
      stalled = Object.assign(new Error(details), { code: grpc.status.DEADLINE_EXCEEDED, details });
      stream.cancel();
    }, ctx.timeoutMs);
  };
  arm();
  const onAbort = (): void => {
    aborted = true;
    stream.cancel();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (raw: unknown) => {
        let message: AuditMessageJson;
        try {
          message = decodeAuditMessage(raw);
        } catch (err) {
          stream.cancel();
          reject(err);
          return;
        }
        arm();
        // A note is no event: a stream broken after notes alone may still be retried elsewhere.
        if (message.kind === 'dropped') {
          opts.onDropped?.(message.dropped);
          return;
        }
        delivered += 1;
        onEvent(message.event);
      });
      stream.on('error', (err: unknown) => {
        const failure = streamFailure(stalled ?? err, ctx, { aborted, delivered, what: 'the audit stream', cutOffRule: AUDIT_CUT_OFF_RULE });
        if (failure === null) resolve();
        else reject(failure);
      });
      stream.on('end', () => resolve());
    });
  } finally {
    clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onAbort);
    ctx.streams.delete(stream);
  }
}
