/**
 * Compressed requests are refused. grpc-js inflates every message of a request as it arrives,
 * before any handler or check of ours sees it, and up to the message size limit: a 4 KB gzip
 * message became 4 MiB, so half a megabyte sent on 120 streams that never half-closed took a
 * leader from 82 MB to 1.6 GB and its leadership. Nothing of ours compresses (controllers,
 * ctl, agents), so a request that says `grpc-encoding: gzip` or `deflate` is answered
 * UNIMPLEMENTED before its first message is read (the stream stays paused until then).
 *
 * grpc-js takes the header out of the metadata it hands interceptors; the base call keeps what
 * it read, so this runs in the server's first interceptor (src/transport/base-call-guard.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { requestEncoding } from './base-call.js';

export const REFUSED_ENCODING_DETAILS = 'compressed requests are not accepted (grpc-encoding other than identity); send them uncompressed';

/** The request's headers pass on when they name no encoding or identity; otherwise the call ends here and `onRefused` hears of it. */
export function admitEncoding(base: grpc.ServerInterceptingCallInterface, metadata: grpc.Metadata, pass: (metadata: grpc.Metadata) => void, onRefused: () => void): void {
  const encoding = requestEncoding(base);
  if (encoding === null || encoding === 'identity') {
    pass(metadata);
    return;
  }
  onRefused();
  base.sendStatus({ code: grpc.status.UNIMPLEMENTED, details: REFUSED_ENCODING_DETAILS });
}
