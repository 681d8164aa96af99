/**
 * Where a gRPC call's status comes from on HTTP/2: its trailers (or, for a call answered at once,
 * its response headers: "Trailers-Only"), else the HTTP status, else how the stream was reset.
 * The mappings are grpc/doc/http-grpc-status-mapping.md and PROTOCOL-HTTP2.md's.
 */
import http2 from 'node:http2';
import { status, type StatusCode } from './status-codes.js';

export interface CallStatus {
  readonly code: StatusCode;
  readonly details: string;
}

/** The status a header block carries (grpc-status, grpc-message), or null when it carries none. */
export function statusOfHeaders(headers: http2.IncomingHttpHeaders): CallStatus | null {
  const raw = headers['grpc-status'];
  if (raw === undefined) return null;
  const code = Number(raw);
  const message = headers['grpc-message'];
  const details = typeof message === 'string' ? decodeGrpcMessage(message) : '';
  if (!Number.isInteger(code) || code < 0 || code > 16) return { code: status.UNKNOWN, details: `grpc-status ${JSON.stringify(raw)} is not a status code${details === '' ? '' : `: ${details}`}` };
  return { code: code as StatusCode, details };
}

/** grpc-message is percent-encoded UTF-8; a malformed one is shown as it came. */
export function decodeGrpcMessage(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/** A response whose HTTP status is not 200 is no gRPC answer; the spec's mapping. */
export function statusOfHttp(httpStatus: number): CallStatus {
  const code =
    httpStatus === 400 ? status.INTERNAL
    : httpStatus === 401 ? status.UNAUTHENTICATED
    : httpStatus === 403 ? status.PERMISSION_DENIED
    : httpStatus === 404 ? status.UNIMPLEMENTED
    : httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504 ? status.UNAVAILABLE
    : status.UNKNOWN;
  return { code, details: `HTTP status ${httpStatus}, not a gRPC answer` };
}

/** A stream reset by the server (RST_STREAM) before any status. */
export function statusOfReset(rstCode: number): CallStatus {
  const c = http2.constants;
  const code =
    rstCode === c.NGHTTP2_REFUSED_STREAM ? status.UNAVAILABLE
    : rstCode === c.NGHTTP2_CANCEL ? status.CANCELLED
    : rstCode === c.NGHTTP2_ENHANCE_YOUR_CALM ? status.RESOURCE_EXHAUSTED
    : rstCode === c.NGHTTP2_INADEQUATE_SECURITY ? status.PERMISSION_DENIED
    : status.INTERNAL;
  return { code, details: `the stream was reset with HTTP/2 code ${rstCode}` };
}
