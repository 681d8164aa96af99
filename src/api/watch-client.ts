/**
 * Who a stream counts against in the caps of watch-limits.ts: the Operator service's watches,
 * health watches and audit follows all tell their clients apart this way.
 */

/** Who a watch counts against: `key` for the cap, `name` for messages. */
export interface WatchClient {
  readonly key: string;
  readonly name: string;
}

export interface CallPeer {
  getPeer(): string;
  getAuthContext(): { readonly transportSecurityType?: string; readonly sslPeerCertificate?: { readonly subject?: unknown; readonly fingerprint256?: string } } | null | undefined;
}

/**
 * With TLS, the client certificate's identity: its subject CN (as etcd names a user by it, and as
 * agents are counted), or its fingerprint when it has none. Without TLS nothing names a client:
 * its connection (peer address and port).
 */
export function watchClientOf(call: CallPeer): WatchClient {
  const auth = call.getAuthContext();
  const cert = auth?.transportSecurityType === 'ssl' ? auth.sslPeerCertificate : undefined;
  if (cert !== undefined) {
    const subject = cert.subject as { readonly CN?: unknown } | undefined;
    const cn = Array.isArray(subject?.CN) ? (subject.CN as unknown[])[0] : subject?.CN;
    if (typeof cn === 'string' && cn !== '') return { key: `cn:${cn}`, name: `client certificate ${JSON.stringify(cn)}` };
    const fingerprint = cert.fingerprint256 ?? '';
    return { key: `cert:${fingerprint}`, name: `client certificate ${fingerprint} (no CN)` };
  }
  const peer = call.getPeer();
  return { key: `peer:${peer}`, name: `connection ${peer}` };
}
