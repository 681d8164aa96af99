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
