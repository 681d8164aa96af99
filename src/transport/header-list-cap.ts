/**
 * The largest header block a call may open with on the gRPC port: its metadata, pseudo-headers
 * included, as HTTP/2 counts it (each field's name and value plus 32 bytes). A call's headers
 * stay in memory while the call is open, as nghttp2's copy and as grpc-js's metadata, and Node's
 * default limit is 64 KiB: header-only calls of 60 KB, 1,000 on each of 4 connections from an
 * agent's certificate, took a leader from 83 to 557 MB, and 12 connections a follower from 80 MB
 * to 1.5 GB, none of it counted by the request budgets (incomplete-requests.ts counts message
 * bytes). 8 KiB is grpc-java's default and gRPC core's; nothing of ours (controllers, ctl, agents)
 * sends metadata of its own, a few hundred bytes in all.
 *
 * The limit is announced in the port's SETTINGS (SETTINGS_MAX_HEADER_LIST_SIZE), past which Node
 * resets the stream; but nghttp2 applies its own settings only once the client acknowledges
 * them, and a client that never does still has its 60 KB blocks taken (1,000 of them, +61 MB).
 * So each call's metadata is also measured in the server's first interceptor
 * (base-call-guard.ts), and a call past the limit is refused RESOURCE_EXHAUSTED before any
 * handler holds it, whatever the client acknowledged.
 *
 * grpc-js has no option for it: its HTTP/2 servers, the connection injector's included, take
 * their settings from the server's `commonServerOptions`, read when each is made. So the value
 * is put there, before the listener makes its injector; when the installed grpc-js no longer has
 * that field, this throws, naming it, rather than leave the port at 64 KiB unnoticed.
 */
import * as grpc from '@grpc/grpc-js';
import type * as http2 from 'node:http2';

export const MAX_HEADER_LIST_BYTES = 8 * 1024;

/** HTTP/2's count of a header field beyond its name and value (RFC 9113, 6.5.2). */
const FIELD_OVERHEAD_BYTES = 32;

export const HEADERS_TOO_LARGE_DETAILS = `the call's metadata is larger than the ${MAX_HEADER_LIST_BYTES} bytes this port takes; send less`;

interface ServerFields {
  commonServerOptions?: unknown;
}

function isServerOptions(value: unknown): value is http2.ServerOptions {
  return typeof value === 'object' && value !== null;
}

/** Sets the header block limit of every HTTP/2 server `server` makes from now on; returns `server`. */
export function capHeaderList(server: grpc.Server, bytes: number = MAX_HEADER_LIST_BYTES): grpc.Server {
  const common = (server as unknown as ServerFields).commonServerOptions;
  if (!isServerOptions(common)) {
    throw new Error('invariant: grpc-js Server has no commonServerOptions: the gRPC port cannot cap its header blocks (src/transport/header-list-cap.ts)');
  }
  common.settings = { ...common.settings, maxHeaderListSize: bytes };
  return server;
}

/** The metadata's size as HTTP/2 counts a header list (binary values as sent: base64). */
export function headerListBytes(metadata: grpc.Metadata): number {
  let total = 0;
  for (const [key, value] of Object.entries(metadata.toHttp2Headers())) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) total += key.length + String(v).length + FIELD_OVERHEAD_BYTES;
  }
  return total;
}

/**
 * The call's metadata passes on when it is within `limit`; otherwise the call ends here
 * RESOURCE_EXHAUSTED and `onRefused` hears of it. (grpc-js has already taken out the headers it
 * reads itself, the pseudo-headers among them: a few hundred bytes are not counted.)
 */
export function admitHeaderList(base: grpc.ServerInterceptingCallInterface, metadata: grpc.Metadata, pass: (metadata: grpc.Metadata) => void, onRefused: () => void, limit: number = MAX_HEADER_LIST_BYTES): void {
  if (headerListBytes(metadata) <= limit) {
    pass(metadata);
    return;
  }
  onRefused();
  base.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: HEADERS_TOO_LARGE_DETAILS });
}
