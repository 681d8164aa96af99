/**
 * The client side of a server stream on one endpoint (Watch, SnapshotSave): messages are
 * decoded as they arrive; a stream that never ends by design (a watch) has no deadline, a
 * finite one (a snapshot) fails when the server goes silent for a whole timeout; an abort
 * ends it cleanly. Failover is the caller's business: before the first message a failure is
 * an ordinary call failure (failover.ts classifies it), after it the stream is UNREACHABLE,
 * because retrying elsewhere would deliver the first messages twice.
 */
import * as grpc from '@grpc/grpc-js';
import { ApiError } from './errors.js';
import { streamFailure, waitForReady, type StreamContext } from './stream-context.js';

export interface ServerStreamOptions<T> {
  readonly method: grpc.MethodDefinition<unknown, unknown>;
  readonly request: object;
  /** Narrows one untrusted message; throws an ApiError naming what is wrong. */
  readonly decode: (raw: unknown) => T;
  /** null: the stream may stay quiet forever (a watch). Otherwise ms of silence that fail it. */
  readonly idleTimeoutMs: number | null;
  /** Ms of silence before the first message, when the server has work to do first; default idleTimeoutMs. */
  readonly firstMessageTimeoutMs?: number;
  /** Ends the stream; the call then resolves normally. */
  readonly signal?: AbortSignal;
  /** What the stream is, for messages: "the watch", "the snapshot". */
  readonly what: string;
  /** Why a controller cuts such a stream off for a limit; default: the general rule. */
  readonly cutOffRule?: string;
}

const STREAM_CUT_OFF_RULE = 'a controller cuts off a stream whose client leaves what it is sent unread';

/** Resolves when the server ends the stream or the signal aborts it. onMessage may throw to fail it. */
export async function readServerStream<T>(ctx: StreamContext, opts: ServerStreamOptions<T>, onMessage: (m: T) => void): Promise<void> {
  if (opts.signal?.aborted === true) return;
  const { endpoint, channel } = ctx;
  await waitForReady(ctx);
  const def = opts.method;
  const stream = channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, opts.request, new grpc.Metadata(), {});
  ctx.streams.add(stream);
  let delivered = 0;
  let aborted = false;
  let idle: NodeJS.Timeout | null = null;
  let failIdle: (() => void) | null = null;
  const silenceMs = (): number | null => (delivered === 0 ? (opts.firstMessageTimeoutMs ?? opts.idleTimeoutMs) : opts.idleTimeoutMs);
  const armIdle = (): void => {
    const ms = silenceMs();
    if (ms === null) return;
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(() => failIdle?.(), ms);
  };
  const onAbort = (): void => {
    aborted = true;
    stream.cancel();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      failIdle = () => {
        stream.cancel();
        reject(new ApiError('TIMEOUT', `${endpoint} sent nothing of ${opts.what} for ${silenceMs()}ms`));
      };
      armIdle();
      stream.on('data', (raw: unknown) => {
        try {
          const message = opts.decode(raw);
          delivered += 1;
          armIdle();
          onMessage(message);
        } catch (err) {
          stream.cancel();
          reject(err);
        }
      });
      stream.on('error', (err: unknown) => {
        const failure = streamFailure(err, ctx, { aborted, delivered, what: opts.what, cutOffRule: opts.cutOffRule ?? STREAM_CUT_OFF_RULE });
        if (failure === null) resolve();
        else reject(failure);
      });
      stream.on('end', () => resolve());
    });
  } finally {
    if (idle !== null) clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onAbort);
    ctx.streams.delete(stream);
  }
}
