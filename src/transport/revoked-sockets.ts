/**
 * OpenSSL checks a CRL only in a handshake: after a new tls.crl, connections a revoked
 * certificate opened before keep working until they close. This closes them, wherever the
 * controller holds TLS connections: its gRPC port (callers' client certificates), /metrics
 * (scrapers'; Prometheus keeps its connection alive between scrapes) and the channels it opened
 * to peers (their server certificates).
 */
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { subjectText } from './cert-subject.js';

/** Where a closed connection was: accepted on the gRPC port or /metrics, or opened to a peer. */
export type ConnectionSide = 'grpc' | 'metrics' | 'outgoing';

/** A connection closed for a revoked certificate: the other end, and the certificate. */
export interface ClosedConnection {
  readonly side: ConnectionSide;
  readonly remote: string;
  readonly subject: string;
  readonly serial: string;
}

/** What closing asks of a set of CRLs (crl-revoked.ts Revocations). */
export interface RevocationCheck {
  /** Whether any CRL lists this serial (lower-case hex, whole bytes): cheap, to pass most by. */
  listsSerial(serialHex: string): boolean;
  revokes(cert: X509Certificate): boolean;
}

const CLOSE_CHECK_BATCH = 1000;

/** The first certificate of the peer's chain (leaf first; a self-signed root ends it) the CRLs revoke. */
function revokedInChain(socket: tls.TLSSocket, revocations: RevocationCheck): X509Certificate | null {
  const seen = new Set<string>();
  for (let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw !== undefined && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    if (!revocations.listsSerial(c.serialNumber.toLowerCase())) continue;
    const cert = new X509Certificate(c.raw);
    if (revocations.revokes(cert)) return cert;
  }
  return null;
}

/**
 * Destroys each of `sockets` whose peer presented a certificate `revocations` revokes (the leaf
 * or a CA of the chain it sent) and says what each was. A serial the CRLs do not list is passed
 * over without parsing its certificate, and the sockets are looked at a thousand per turn of the
 * event loop: tens of thousands of agents must not stall the node's heartbeats.
 */
export async function closeRevokedSockets(side: ConnectionSide, sockets: Iterable<tls.TLSSocket>, revocations: RevocationCheck): Promise<ClosedConnection[]> {
  const closed: ClosedConnection[] = [];
  const all = [...sockets];
  for (let at = 0; at < all.length; at += CLOSE_CHECK_BATCH) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const socket of all.slice(at, at + CLOSE_CHECK_BATCH)) {
      if (socket.destroyed) continue;
      const hit = revokedInChain(socket, revocations);
      if (hit === null) continue;
      closed.push({ side, remote: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`, subject: subjectText(hit), serial: hit.serialNumber });
      socket.destroy();
    }
  }
  return closed;
}

/** The TLS sockets of one place, each until it closes. */
export class OpenTlsSockets {
  private readonly open = new Set<tls.TLSSocket>();

  add(socket: tls.TLSSocket): void {
    if (socket.destroyed) return;
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }

  closeRevoked(side: ConnectionSide, revocations: RevocationCheck): Promise<ClosedConnection[]> {
    return closeRevokedSockets(side, this.open, revocations);
  }

  get size(): number {
    return this.open.size;
  }
}
