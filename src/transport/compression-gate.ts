/**
 * Compressed requests are refused. grpc-js inflates every message of a request as it arrives,
 * before any handler or check of ours sees it, and up to the message size limit: a 4 KB gzip
 * message became 4 MiB, so half a megabyte sent on 120 streams that never half-closed took a
 * leader from 82 MB to 1.6 GB and its leadership. Nothing of ours compresses (controllers,
 * ctl, agents), so a request that says `grpc-encoding: gzip` or `deflate` is answered
 * UNIMPLEMENTED before its first message is read (the stream stays paused until then).
 *
 * grpc-js takes the header out of the metadata it hands interceptors; the call it starts
 * with (the first interceptor's) keeps what it read. This interceptor must come first.
 */
import * as grpc from '@grpc/grpc-js';

/** The encoding the base call read from the request's headers; null when grpc-js no longer says. */
function requestEncoding(call: grpc.ServerInterceptingCallInterface): string | null {
  const encoding: unknown = (call as unknown as { readonly incomingEncoding?: unknown }).incomingEncoding;
  return typeof encoding === 'string' ? encoding : null;
}

export const REFUSED_ENCODING_DETAILS = 'compressed requests are not accepted (grpc-encoding other than identity); send them uncompressed';

/** `onRefused` hears each refusal (a metric counts them). */
export function compressionGate(onRefused: () => void = () => undefined): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const encoding = requestEncoding(call);
            if (encoding === null || encoding === 'identity') {
              pass(metadata);
              return;
            }
            onRefused();
            call.sendStatus({ code: grpc.status.UNIMPLEMENTED, details: REFUSED_ENCODING_DETAILS });
          },
        });
      },
    });
}
