/**
 * A streaming call's messages read from, and written to, its HTTP/2 stream without grpc-js's
 * per-message layers. Through grpc-js each message read goes through its decoder (a copy), an
 * async step (a promise and a turn of the microtask queue), every interceptor's listener and the
 * call's object-mode stream, which pauses the HTTP/2 stream after each message and resumes it
 * when the next is wanted; each message written goes through the object-mode stream, every
 * interceptor's responder and the serializer. For the agents' streams that was a fifth of a
 * controller's busy time (docs/benchmarks.md, fiftieth and fifty-first sessions); for a put's
 * Raft messages, a tenth of a follower's.
 *
 * Only where the server's first interceptor filed grpc-js's base call and the stream
 * (call-reset.ts), and only for methods whose interceptors do nothing per message (none of ours
 * does for a bidirectional stream: oneMessageRequests acts on unary and server-streaming
 * requests only). The rest of the call stays grpc-js's: its deadline, its cancellation, the
 * request's end (a half-close through the interceptors), the response headers (sent through
 * every interceptor before the first message, as grpc-js sends them) and every status, whose
 * trailers follow what was written. A message past grpc-js's limit is answered RESOURCE_EXHAUSTED
 * and one that does not decode INTERNAL, in grpc-js's words. The bytes on the wire are the same.
 */
import * as grpc from '@grpc/grpc-js';
import type * as http2 from 'node:http2';
import { takeDataFrames } from './base-call.js';
import { filedBaseCall, filedCallStream } from './call-reset.js';
import { reportHeldReads } from './held-reads.js';
import { grpcFramed, MessageFrames, MessageTooLargeError } from './message-frames.js';

/**
 * Sends `call`'s messages, decoded by `decode`, to `onMessage` straight from its HTTP/2 stream;
 * false when no base call was filed for it (the caller then reads them from the call, as before).
 * The caller still reads the call (its 'data' listener): that starts grpc-js's reads, and brings
 * the request's end.
 */
export function takeMessages<T>(call: { readonly metadata?: grpc.Metadata }, decode: (bytes: Buffer) => T, onMessage: (message: T) => void): boolean {
  const base = call.metadata === undefined ? undefined : filedBaseCall(call.metadata);
  if (base === undefined) return false;
  let frames: MessageFrames | null = null;
  let failed = false;
  const fail = (status: { code: grpc.status; details: string }): void => {
    failed = true;
    base.sendStatus(status);
  };
  const taken = takeDataFrames(base, (data) => {
    if (failed || frames === null) return;
    let messages: Buffer[];
    try {
      messages = frames.take(data);
    } catch (err) {
      if (!(err instanceof MessageTooLargeError)) throw err;
      fail({ code: grpc.status.RESOURCE_EXHAUSTED, details: err.message });
      return;
    }
    for (const bytes of messages) {
      let message: T;
      try {
        message = decode(bytes);
      } catch {
        fail({ code: grpc.status.INTERNAL, details: 'Error deserializing request' });
        return;
      }
      onMessage(message);
      if (failed) return;
    }
  });
  if (taken === null) return false;
  frames = new MessageFrames(taken.maxMessageBytes);
  return true;
}

/** The part of a streaming call a direct writer needs. */
export interface WritableCall {
  readonly metadata?: grpc.Metadata;
  sendMetadata?(metadata: grpc.Metadata): void;
}

/** A call's HTTP/2 stream, written and paused without grpc-js's object-mode streams. */
export interface DirectStream {
  /**
   * Writes an encoded message (the response headers first, through grpc-js); false when the
   * stream's buffer is full (wait for `onceDrained`). `taken` runs once the transport has taken
   * it; never for a failed write (its stream is closing, and its close ends the call).
   */
  write(message: Uint8Array, taken?: () => void): boolean;
  onceDrained(then: () => void): void;
  /**
   * Stops reading (HTTP/2's flow control then pushes back on the client), or reads again. The
   * stalled-request sweep does not count the time between (held-reads.ts).
   */
  pause(): void;
  resume(): void;
}

/**
 * `call`'s HTTP/2 stream to write encoded messages to, or null when no stream was filed for it
 * (the caller writes through the call). A closed or destroyed stream takes nothing, as grpc-js's
 * own check before a write.
 */
export function directStream(call: WritableCall): DirectStream | null {
  const stream = call.metadata === undefined || call.sendMetadata === undefined ? undefined : filedCallStream(call.metadata);
  if (stream === undefined) return null;
  let headersSent = false;
  return {
    write: (message, taken) => {
      if (!writable(stream)) return true;
      if (!headersSent) {
        headersSent = true;
        call.sendMetadata!(new grpc.Metadata());
      }
      if (taken === undefined) return stream.write(grpcFramed(message));
      return stream.write(grpcFramed(message), (err?: Error | null) => {
        if (err === undefined || err === null) taken();
      });
    },
    onceDrained: (then) => void stream.once('drain', then),
    pause: () => {
      stream.pause();
      reportHeldReads(stream, true);
    },
    resume: () => {
      reportHeldReads(stream, false);
      stream.resume();
    },
  };
}

/** grpc-js's own check before it writes (checkCancelled): a closed or destroyed stream takes nothing. */
function writable(stream: http2.ServerHttp2Stream): boolean {
  return !stream.destroyed && !stream.closed && !stream.writableEnded;
}
