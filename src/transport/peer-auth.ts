/**
 * Who may call peer RPCs. With TLS, only a certificate marked as a peer's: it carries the URI
 * `urn:raft-controller:peer:<member-id>` in its subjectAltName, names the member the call
 * claims to come from, and (when a separate client or agent CA is configured) was issued by the
 * controllers' CA. An operator's or an agent's certificate carries no such URI, whatever its
 * common name, so it can never speak as a member. Without TLS there is nothing to check: the
 * node warns loudly at start when it listens in plaintext beyond loopback.
 */
import { X509Certificate } from 'node:crypto';
import type { Refusal } from '../identity/index.js';
import { subjectText } from './cert-subject.js';
import { cut } from './refused-sender.js';
import { pemCertificates } from './tls-files.js';

export const PEER_URI_PREFIX = 'urn:raft-controller:peer:';

/** The SAN URI that marks a certificate as member `id`'s peer certificate. */
export function peerUri(id: string): string {
  return `${PEER_URI_PREFIX}${id}`;
}

/** The member ids a certificate's subjectAltName marks it as the peer certificate of. */
function peersNamedBy(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((san) => san.startsWith(`URI:${PEER_URI_PREFIX}`))
    .map((san) => san.slice(`URI:${PEER_URI_PREFIX}`.length));
}

/**
 * Null when `pem` (this node's own certificate) is member `id`'s peer certificate; otherwise why
 * not. Checked at start: peers would refuse every message of a node whose certificate is not.
 */
export function ownCertificateProblem(pem: Buffer, id: string): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    return `expected a PEM certificate, found: ${(err as Error).message}`;
  }
  const peers = peersNamedBy(cert);
  if (peers.length === 1 && peers[0] === id) return null;
  const found = peers.length === 0 ? 'none' : peers.map(peerUri).join(', ');
  return (
    `expected this node's peer certificate, with exactly one subjectAltName URI ${peerUri(id)}, found ${found} ` +
    '(peers would refuse every message from this node; docs/deploy.md, step 2)'
  );
}

/** Any server call: grpc-js gives each the TLS peer certificate of its connection. */
export interface AuthenticatedCall {
  getAuthContext(): { readonly sslPeerCertificate?: { readonly raw?: Buffer } } | null;
}

export interface PeerAuth {
  /** Null when the caller may speak as member `claimed`; otherwise the refusal. */
  check(call: AuthenticatedCall, claimed: string): Refusal | null;
  /** Null when the caller presents a peer certificate of this cluster, whichever member's. */
  checkAnyPeer(call: AuthenticatedCall): Refusal | null;
  /**
   * The member id(s) the caller's certificate names as a peer certificate of this cluster (its
   * peer URIs, joined by ','); null when it presents none (an operator's, an agent's, or no TLS).
   */
  peerNamed(call: AuthenticatedCall): string | null;
  /** Whether the caller's certificate was signed by the controllers' CA directly and names no member: an operator's of tls.ca. */
  peerCaNonPeer(call: AuthenticatedCall): boolean;
}

export const plaintextPeerAuth: PeerAuth = { check: () => null, checkAnyPeer: () => null, peerNamed: () => null, peerCaNonPeer: () => false };

interface CallerIdentity {
  readonly peers: readonly string[];
  readonly subject: string;
  readonly issuedByPeerCa: boolean;
}

/**
 * `peerCa`: the controllers' CA in PEM, one certificate or a bundle (a CA being rotated: the old
 * and the new); when `requireIssuer` is set (a separate client or agent CA is trusted too), a
 * peer certificate must be signed by one of them directly.
 */
export function certificatePeerAuth(peerCa: Buffer, requireIssuer: boolean): PeerAuth {
  const cas = pemCertificates(peerCa);
  if (cas.length === 0) throw new Error('no PEM certificate (no -----BEGIN CERTIFICATE----- block)');
  // One lookup per call: a stream carries many batches over the same connection.
  const seen = new WeakMap<AuthenticatedCall, CallerIdentity | null>();
  // And one parse per certificate: a signature check costs about 0.3 ms, which unary calls
  // (refused ones included: a flood of them) would otherwise pay every time.
  const known = new Map<string, CallerIdentity>();
  const parse = (raw: Buffer): CallerIdentity => {
    const key = raw.toString('base64');
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    const cert = new X509Certificate(raw);
    const issuedByPeerCa = cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    const id = { peers: peersNamedBy(cert), subject: subjectText(cert), issuedByPeerCa };
    if (known.size >= 256) known.delete(known.keys().next().value!);
    known.set(key, id);
    return id;
  };
  const identify = (call: AuthenticatedCall): CallerIdentity | null => {
    if (seen.has(call)) return seen.get(call) ?? null;
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    const id = raw === undefined ? null : parse(raw);
    seen.set(call, id);
    return id;
  };
  /** The member the caller's peer certificate names, or why it is no peer certificate. */
  const peerOf = (call: AuthenticatedCall): Refusal | { readonly member: string } => {
    const caller = identify(call);
    if (caller === null) return { code: 'NOT_A_PEER', reason: 'peer RPCs need a peer certificate; the caller presented none' };
    const [member] = caller.peers;
    if (member === undefined || caller.peers.length !== 1) {
      return {
        code: 'NOT_A_PEER',
        reason:
          member === undefined
            ? `the caller's certificate (${caller.subject}) is not a peer certificate: it carries no URI ${PEER_URI_PREFIX}<member-id>, so it may call the client API only`
            : `the caller's certificate (${caller.subject}) names ${caller.peers.length} members (${caller.peers.join(', ')}); a peer certificate names exactly one`,
      };
    }
    if (requireIssuer && !caller.issuedByPeerCa) {
      return { code: 'NOT_A_PEER', reason: `the caller's certificate (${caller.subject}) was not issued by the controllers' CA (tls.ca)` };
    }
    return { member };
  };
  return {
    check(call, claimed) {
      const peer = peerOf(call);
      if ('code' in peer) return peer;
      if (peer.member !== claimed) {
        return { code: 'WRONG_PEER', reason: `the caller's peer certificate is member ${peer.member}'s, but the message claims to come from ${JSON.stringify(cut(claimed, 64))}` };
      }
      return null;
    },
    checkAnyPeer(call) {
      const peer = peerOf(call);
      return 'code' in peer ? peer : null;
    },
    peerNamed(call) {
      const caller = identify(call);
      if (caller === null || caller.peers.length === 0 || (requireIssuer && !caller.issuedByPeerCa)) return null;
      return caller.peers.join(',');
    },
    peerCaNonPeer(call) {
      const caller = identify(call);
      return caller !== null && caller.issuedByPeerCa && caller.peers.length === 0;
    },
  };
}
