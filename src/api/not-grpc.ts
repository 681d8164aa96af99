/**
 * A port that answers, but not in HTTP/2, is no gRPC server: most often a controller's metrics
 * port (HTTP/1.1) dialled by mistake. grpc-js reports only the HTTP/2 stack's "Protocol error"
 * (the server's first bytes were not HTTP/2 frames), so `ctl` says what that means instead.
 * A TLS server dialled without TLS sends nothing and fails otherwise ("Failed to connect"):
 * tls-errors.ts and tls-probe.ts tell that story, not this.
 */

/**
 * grpc-js's wording when no connection could be set up because the HTTP/2 session failed:
 * `No connection established. Last error: Protocol error (<timestamp>)`. A session that broke
 * after it was established says otherwise (a GOAWAY, an RST_STREAM, "Connection dropped").
 */
const NOT_HTTP2 = /No connection established\. Last error: Protocol error\b/;

/** The words for `endpoint` when `details` say it answered in something other than HTTP/2; null otherwise. */
export function describeNotGrpc(endpoint: string, details: string): string | null {
  if (!NOT_HTTP2.test(details)) return null;
  return `${endpoint} does not speak gRPC: it answered, but not in HTTP/2 (is it a metrics port? dial the controller's client address, its cluster.nodes[].address)`;
}

/**
 * grpc-js's words for an HTTP/2 answer whose HTTP status is not 200 (mapped to UNIMPLEMENTED for
 * a 404, UNKNOWN, INTERNAL, ...): no controller answers so, so something else listens there, a
 * web server or a proxy. Taken as the controller's final answer, it ended the call with exit 1,
 * `ctl: Received HTTP status code 404`, before the other endpoints were tried (ops55).
 */
const HTTP_STATUS = /^Received HTTP status code (\d+)$/;

/** The words for `endpoint` when `details` say it answered with an HTTP status instead of gRPC; null otherwise. */
export function describeHttpStatus(endpoint: string, details: string): string | null {
  const status = HTTP_STATUS.exec(details)?.[1];
  if (status === undefined) return null;
  return `${endpoint} does not speak gRPC: it answered in HTTP/2 with HTTP status ${status}, not a gRPC response (a web server or a proxy at that address? dial the controller's client address, its cluster.nodes[].address)`;
}
