/**
 * A handler's way to reset its own call's HTTP/2 stream, for a client that does not read: no
 * status can reach it (the trailers wait behind the data it has not read), and until the stream
 * closes the server holds what was written to it. The reset's code is the one status that does
 * reach it: CANCEL (grpc-js clients see CANCELLED), or ENHANCE_YOUR_CALM for a stream cut off to
 * bound the server's memory (they see RESOURCE_EXHAUSTED, as for any other limit). grpc-js gives handlers
 * no such call, so the server's first interceptor (base-call-guard.ts), which sees the stream,
 * files it under the request's metadata: the object grpc-js hands the handler as `call.metadata`.
 */
import type * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import { resetByServer } from './server-reset.js';

const streams = new WeakMap<grpc.Metadata, http2.ServerHttp2Stream>();
const baseCalls = new WeakMap<grpc.Metadata, grpc.ServerInterceptingCallInterface>();

export function fileCallStream(metadata: grpc.Metadata, stream: http2.ServerHttp2Stream, base?: grpc.ServerInterceptingCallInterface): void {
  streams.set(metadata, stream);
  if (base !== undefined) baseCalls.set(metadata, base);
}

/** grpc-js's base call filed with the stream (hub-reads.ts takes an agent stream's reads from it); undefined without the guard. */
export function filedBaseCall(metadata: grpc.Metadata): grpc.ServerInterceptingCallInterface | undefined {
  return baseCalls.get(metadata);
}

/** The stream filed under a call's metadata; undefined on a server without the guard. */
export function filedCallStream(metadata: grpc.Metadata): http2.ServerHttp2Stream | undefined {
  return streams.get(metadata);
}

/** Why a call is reset: `exhausted` when it is cut off to bound what the server holds. */
export type ResetReason = 'cancel' | 'exhausted';

const RST_CODE: Readonly<Record<ResetReason, number>> = {
  cancel: http2.constants.NGHTTP2_CANCEL,
  exhausted: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
};

/** False when the call's stream is unknown (a server without the guard) or already closed. */
export function resetCall(call: { readonly metadata: grpc.Metadata }, reason: ResetReason = 'cancel'): boolean {
  const stream = streams.get(call.metadata);
  if (stream === undefined || stream.closed || stream.destroyed) return false;
  resetByServer(stream, RST_CODE[reason]);
  return true;
}
