/**
 * What grpc-js's base server call holds and its interface does not expose. Only a server's
 * first interceptor receives the base call (each later one receives the interceptor before it),
 * so these are read there. Each accessor answers null when the installed grpc-js no longer has
 * the field: a changed grpc-js turns a guard off instead of breaking every call, and the guards'
 * tests fail to say so.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as http2 from 'node:http2';

interface BaseCallFields {
  readonly incomingEncoding?: unknown;
  readonly stream?: unknown;
  handleDataFrame?: unknown;
  readonly maxReceiveMessageSize?: unknown;
  readonly cancelled?: unknown;
}

const fields = (call: grpc.ServerInterceptingCallInterface): BaseCallFields => call as unknown as BaseCallFields;

/** The encoding the request's headers named (grpc-js removes the header from the metadata it hands on). */
export function requestEncoding(call: grpc.ServerInterceptingCallInterface): string | null {
  const encoding = fields(call).incomingEncoding;
  return typeof encoding === 'string' ? encoding : null;
}

function isServerStream(value: unknown): value is http2.ServerHttp2Stream {
  return typeof value === 'object' && value !== null && typeof (value as { close?: unknown }).close === 'function' && 'closed' in value && 'destroyed' in value;
}

/** The HTTP/2 stream the call rides on. */
export function http2StreamOf(call: grpc.ServerInterceptingCallInterface): http2.ServerHttp2Stream | null {
  const stream = fields(call).stream;
  return isServerStream(stream) ? stream : null;
}

/**
 * Takes the request's bytes from grpc-js: each chunk of the HTTP/2 stream goes to `take` instead
 * of grpc-js's decoder (nothing reaches the call's handler as a message any more; the stream's
 * end still does, as a half-close). grpc-js's own check before it reads runs first: a cancelled
 * call takes nothing. Answers the largest message grpc-js would have taken (-1: no limit), or
 * null when the installed grpc-js has no such place (the caller reads through grpc-js then).
 */
export function takeDataFrames(call: grpc.ServerInterceptingCallInterface, take: (data: Buffer) => void): { readonly maxMessageBytes: number } | null {
  const f = fields(call);
  const max = f.maxReceiveMessageSize;
  if (typeof f.handleDataFrame !== 'function' || typeof max !== 'number') return null;
  f.handleDataFrame = (data: Buffer): void => {
    if (f.cancelled !== true) take(data);
  };
  return { maxMessageBytes: max };
}
