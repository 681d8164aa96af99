/**
 * Requests whose client never ends them. grpc-js starts a unary or server-streaming handler at
 * the client's half-close, and until the stream closes it holds the request: the message its
 * handler keeps and the decoder's copy. An operator's certificate sent 50 unary calls of 4 MiB
 * that never half-closed and held +445 MB until it disconnected. grpc-go starts those handlers
 * at the request's one message and, once the status is written, resets a stream whose client
 * has not ended it (RST_STREAM NO_ERROR, as HTTP/2 allows a server that has answered in full);
 * so do we. Memory then lasts as long as the handler, not as long as the client likes.
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';

type Listener = Parameters<grpc.ServerInterceptingCallInterface['start']>[0];

/** A call whose listener hears the half-close right after the request's message; the client's own half-close, later, is not passed on. */
class OneMessageCall implements grpc.ServerInterceptingCallInterface {
  private ended = false;

  constructor(private readonly next: grpc.ServerInterceptingCallInterface) {}

  start(listener: Listener): void {
    const end = (): void => {
      if (this.ended) return;
      this.ended = true;
      listener.onReceiveHalfClose();
    };
    this.next.start({
      onReceiveMetadata: (metadata) => listener.onReceiveMetadata(metadata),
      // A second message still reaches grpc-js's handler, which answers it UNIMPLEMENTED.
      onReceiveMessage: (message: unknown) => {
        listener.onReceiveMessage(message);
        end();
      },
      onReceiveHalfClose: end,
      onCancel: () => listener.onCancel(),
    });
  }

  sendMetadata(metadata: grpc.Metadata): void {
    this.next.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    this.next.sendMessage(message, callback);
  }

  sendStatus(status: Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.next.sendStatus(status);
  }

  startRead(): void {
    this.next.startRead();
  }

  getPeer(): string {
    return this.next.getPeer();
  }

  getDeadline(): grpc.Deadline {
    return this.next.getDeadline();
  }

  getHost(): string {
    return this.next.getHost();
  }

  getAuthContext(): ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']> {
    return this.next.getAuthContext();
  }

  getConnectionInfo(): ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']> {
    return this.next.getConnectionInfo();
  }

  getMetricsRecorder(): ReturnType<grpc.ServerInterceptingCallInterface['getMetricsRecorder']> {
    return this.next.getMetricsRecorder();
  }
}

/**
 * Handlers of methods whose request is one message start at that message, not at the client's
 * half-close. A streaming request's call is handed on as it is: a wrapper that passes everything
 * through held about 0.5 KB per open stream (grpc-js's intercepting call, its listener, their
 * closures), on every agent's stream, watch and session (docs/benchmarks.md, fifty-ninth session).
 */
export const oneMessageRequests: grpc.ServerInterceptor = (method, call) => {
  if (!method.requestStream) return new grpc.ServerInterceptingCall(new OneMessageCall(call));
  // After another interceptor (as the servers wire it) the call is grpc-js's intercepting call already.
  return call instanceof grpc.ServerInterceptingCall ? call : new grpc.ServerInterceptingCall(call);
};

/**
 * How long a reset waits for a status grpc-js has queued behind the response's data; past it
 * (a client that reads nothing) the stream is reset without its status, as it always was.
 */
const QUEUED_STATUS_WAIT_MS = 10_000;

/**
 * Called when the call has ended (grpc-js tells the listener after it wrote the status, or after
 * the stream closed): a stream the client has not ended is reset with NO_ERROR, and `onReset`
 * hears of it. The reset waits one turn of the loop: Node writes the trailers in an immediate of
 * its own, queued before this one, and a reset ahead of them would lose the client its status.
 * When grpc-js has ended the response and still waits for Node's 'wantTrailers' (a streaming
 * call refused a second time before its status went: a message past the limit over several DATA
 * frames), the reset waits for that too.
 */
export function resetUnendedStream(stream: http2.ServerHttp2Stream, onReset: () => void): void {
  const ended = (): boolean => stream.closed || stream.destroyed || stream.readableEnded;
  if (ended()) return;
  const reset = (): void => {
    setImmediate(() => {
      if (ended()) return;
      onReset();
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  };
  if (!statusQueued(stream)) return reset();
  const giveUp = setTimeout(reset, QUEUED_STATUS_WAIT_MS).unref();
  const cancel = (): void => void clearTimeout(giveUp);
  stream.once('close', cancel);
  // grpc-js listened first: its listener has sent the trailers when this one runs.
  stream.once('wantTrailers', () => {
    cancel();
    reset();
  });
}

/** Headers went without a status (not trailers-only) and the trailers have not been sent. */
function statusQueued(stream: http2.ServerHttp2Stream): boolean {
  return stream.headersSent && stream.sentTrailers === undefined && !('grpc-status' in (stream.sentHeaders ?? {}));
}
