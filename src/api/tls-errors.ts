/**
 * Says what went wrong with TLS when a connection failed, from the details grpc-js and Node's
 * TLS stack give, so `ctl` names TLS and the cause (contract: exit 3, a message naming TLS)
 * instead of a bare "Failed to connect". null when the failure is not recognisably about TLS.
 */
/**
 * The server refused HTTP/2 in the handshake (ALPN; alert 120, no_application_protocol): it
 * speaks TLS, but no gRPC server refuses h2. Most often a metrics port with tls.metrics on.
 */
const NO_HTTP2 = /no application protocol|alert number 120\b/i;
const NO_HTTP2_CAUSE = "the server speaks TLS but not HTTP/2, so it is no gRPC server (is it a metrics port? dial the controller's client address, its cluster.nodes[].address)";

const CAUSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/certificate revoked|CERT_REVOKED|alert number 44\b/i, 'a certificate has been revoked (ours, as the server\'s tls.crl says, or the server\'s): ask for a new one'],
  [/certificate has expired|CERT_HAS_EXPIRED|alert number 45|certificate expired/i, 'a certificate has expired (the server\'s, or ours as the server says), or a clock is wrong (this host\'s, or the server\'s)'],
  [/certificate is not yet valid|CERT_NOT_YET_VALID/i, 'a certificate is not valid yet, or a clock is behind (this host\'s, or the server\'s)'],
  [
    /Hostname\/IP does not match|altnames|ERR_TLS_CERT_ALTNAME_INVALID/i,
    'name mismatch: the server\'s certificate does not name the address dialled (its subjectAltName must include it)',
  ],
  [
    /unable to verify|self[- ]signed certificate|UNABLE_TO_GET_ISSUER|unknown ca|alert number 48|certificate verify failed|unable to get local issuer/i,
    'a certificate signed by an unknown CA (check --tls-ca: it must be the CA that signed the cluster\'s certificates, and ours must come from the CA the cluster trusts)',
  ],
  [
    /certificate required|alert number 116|peer did not return a certificate|handshake failure|alert number 40/i,
    'the server requires a client certificate signed by its CA (give --tls-cert and --tls-key, or CTL_TLS_CERT and CTL_TLS_KEY)',
  ],
  [/wrong version number|packet length too long|http request|ssl3_get_record|WRONG_VERSION/i, 'the server does not speak TLS (drop the --tls-* options, or dial its TLS address)'],
  [NO_HTTP2, NO_HTTP2_CAUSE],
];

/** The TLS cause `details` names; null when it names none (a dropped connection is not enough: see tls-probe.ts). */
export function describeTlsFailure(details: string): string | null {
  for (const [pattern, cause] of CAUSES) if (pattern.test(details)) return `TLS: ${cause}`;
  return null;
}

/** Whether `details` say the server refused HTTP/2: a TLS story even for a client without TLS settings. */
export function refusedHttp2(details: string): boolean {
  return NO_HTTP2.test(details);
}

/** A TLS server closed the handshake on us: what that means, with or without our own TLS settings. */
export function closedDuringHandshake(secure: boolean): string {
  return secure
    ? 'TLS: the server closed the connection during the handshake; it did not accept our certificate (missing, not from its CA, or revoked by its tls.crl)'
    : 'TLS: the server requires TLS and ctl has no TLS settings (give --tls-ca, --tls-cert and --tls-key, or CTL_TLS_*)';
}
