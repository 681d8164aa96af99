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
