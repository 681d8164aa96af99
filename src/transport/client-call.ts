/**
 * A grpc-js client call's bottom layer, the subchannel call on the HTTP/2 stream, which its
 * interface does not expose. Above it each message read goes through a `process.nextTick`, the
 * load-balancing, retrying and resolving calls' listeners, the filter stack's promise, the
 * interceptors' listeners, the deserializer and the call's object-mode stream; each message
 * written the other way, down to the same place. For the leader's StepStreams (four acks read
 * per put) that was a tenth of its busy time (docs/benchmarks.md, fifty-ninth session).
 *
 * Only once the response headers came (the retrying call has committed to its one attempt, so
 * nothing below it retries or buffers any more) and only while nothing of grpc-js's is pending
 * on the way (a message pushed up, a write handed down). The rest stays grpc-js's: its framing
 * and receive limit (the stream decoder runs first), the trailers and every status, cancellation,
 * the write's errors (the subchannel call's own write). Anything out of the ordinary (a
 * compressed message, one that does not decode, one past the send limit) goes back to grpc-js's
 * path, and so does every message after it, so its statuses are grpc-js's own. When the installed
 * grpc-js has no such layer the accessor answers null and the caller stays on grpc-js.
 */
import type * as grpc from '@grpc/grpc-js';

/** The fields of grpc-js's Http2SubchannelCall this reads (1.14). */
interface SubchannelCallFields {
  tryPush?: unknown;
  readonly sendMessageWithContext?: unknown;
  readonly unpushedReadMessages?: unknown;
  readonly isPushPending?: unknown;
  readonly finalStatus?: unknown;
  readonly http2Stream?: unknown;
}

type TryPush = (framed: Buffer) => void;
type SendMessage = (context: { callback?: () => void }, framed: Buffer) => void;

/** The bottom of a call: messages read and written below grpc-js's per-message layers. */
export interface ClientCallBottom {
  /**
   * From now on each message read goes to `take`, its 5-byte prefix included, at once and in
   * order; `take` answers false to hand that message, and every later one, to grpc-js's layers.
   */
  takeMessages(take: (framed: Buffer) => boolean): void;
  /** Writes one framed message with the subchannel call's own write (its write errors end the call as before). */
  write(framed: Buffer): void;
}

/** The links grpc-js keeps from a client call down to its subchannel call, in 1.14. */
const DOWNWARD = ['call', 'nextCall', 'child'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * Finds the subchannel call below `call` (a grpc-js client stream whose response headers came):
 * through each layer's `call`, `nextCall` or `child`, and the retrying call's one committed
 * attempt. Null when there is not exactly one, or it has no place to read or write from.
 */
function subchannelCallOf(call: object): SubchannelCallFields | null {
  let layer: unknown = call;
  for (let depth = 0; depth < 8 && isObject(layer); depth++) {
    if (typeof layer['tryPush'] === 'function' && typeof layer['sendMessageWithContext'] === 'function') {
      const f = layer as SubchannelCallFields;
      return Array.isArray(f.unpushedReadMessages) && typeof f.isPushPending === 'boolean' && isObject(f.http2Stream) ? f : null;
    }
    const attempts = layer['underlyingCalls'];
    if (Array.isArray(attempts)) {
      if (attempts.length !== 1 || !isObject(attempts[0])) return null;
      layer = attempts[0]['call'];
      continue;
    }
    const here: Record<string, unknown> = layer;
    const next = DOWNWARD.map((k) => here[k]).filter(isObject);
    if (next.length !== 1) return null;
    layer = next[0];
  }
  return null;
}

/**
 * The bottom of `stream`, or null (read and write through `stream` then). Call it when the
 * response headers came ('metadata'), with no write of the caller's still on grpc-js's way down:
 * then nothing of this call is in grpc-js's layers and nothing taken here can overtake it.
 */
export function clientCallBottom(stream: grpc.ClientDuplexStream<unknown, unknown>): ClientCallBottom | null {
  const sc = subchannelCallOf(stream);
  if (sc === null || sc.finalStatus !== null || sc.isPushPending !== false || (sc.unpushedReadMessages as unknown[]).length > 0) return null;
  const own = sc.tryPush as TryPush;
  const send = sc.sendMessageWithContext as SendMessage;
  return {
    takeMessages: (take) => {
      let taking = true;
      sc.tryPush = (framed: Buffer): void => {
        if (taking && take(framed)) return;
        taking = false;
        own.call(sc, framed);
      };
    },
    write: (framed) => send.call(sc, {}, framed),
  };
}
