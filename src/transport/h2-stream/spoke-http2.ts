/**
 * Whether a connection's server answered in HTTP/2 (its SETTINGS arrived). One that never did,
 * and whose session failed with nghttp2's "Protocol error", answered in something else: an
 * HTTP/1.1 server, most often a controller's metrics port given as a controller's address. The
 * call then says so (bidi-call.ts) instead of the bare "Protocol error", as ctl does (not-grpc.ts).
 */
import type http2 from 'node:http2';

const spoke = new WeakSet<http2.Http2Session>();

export const NOT_HTTP2_DETAILS =
  "the server answered, but not in HTTP/2, so it is no gRPC server (is it a controller's metrics port? an agent dials a controller's client address, its cluster.nodes[].address)";

/** The server of `session` sent its SETTINGS. */
export function noteSpokeHttp2(session: http2.Http2Session): void {
  spoke.add(session);
}

export function answeredInHttp2(session: http2.Http2Session): boolean {
  return spoke.has(session);
}
