/**
 * The certificates above a caller's own in the chain its connection was verified with: what the
 * agent CA gate needs to tell an agent's certificate issued by an intermediate of the agent CA
 * from an operator's (attack round 10: only certificates signed directly by the agent CA were
 * taken for agents', so an intermediate's had the whole client API). grpc-js hands interceptors
 * the leaf alone; the connection's TLS socket has the chain, found through the stream the first
 * interceptor filed under the call's metadata (call-reset.ts).
 *
 * Node builds this chain by issuer names, from what the client presented and the CAs trusted,
 * without checking signatures, so a client can put a certificate of its choosing above its own:
 * each link is checked here, and a chain whose links do not all verify is reported as such. A
 * link that fails is tried once more against the trusted CAs themselves: two CAs of one name
 * (a rotation, certificates without an authority key id) can be linked to the wrong one.
 */
import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { filedCallStream } from './call-reset.js';

/** The chain above the leaf, nearest issuer first; `verified` false when some link's issuer did not sign it. */
export type PeerChain = { readonly verified: true; readonly issuers: readonly X509Certificate[] } | { readonly verified: false };

/** Links followed at most: no honest chain is longer. */
const MAX_CHAIN = 8;

/**
 * The chain of a call's connection, read once per HTTP/2 session (a connection's chain does not
 * change); null when it cannot be known (no filed stream, no TLS). `anchors`: the CAs trusted.
 */
export function peerChains(anchors: readonly X509Certificate[]): (metadata: grpc.Metadata) => PeerChain | null {
  const bySession = new WeakMap<object, PeerChain | null>();
  return (metadata) => {
    const session = filedCallStream(metadata)?.session;
    if (session === undefined) return null;
    const known = bySession.get(session);
    if (known !== undefined) return known;
    const socket = session.socket as TLSSocket | undefined;
    const leaf = typeof socket?.getPeerCertificate === 'function' ? socket.getPeerCertificate(true) : undefined;
    const chain = leaf?.raw === undefined ? null : chainAbove(leaf, anchors);
    bySession.set(session, chain);
    return chain;
  };
}

const signed = (child: X509Certificate, issuer: X509Certificate): boolean => child.checkIssued(issuer) && child.verify(issuer.publicKey);

/** Each issuer above `leaf` as Node linked them, each link checked (a failed one against `anchors`). */
export function chainAbove(leaf: DetailedPeerCertificate, anchors: readonly X509Certificate[] = []): PeerChain {
  const issuers: X509Certificate[] = [];
  let child = new X509Certificate(leaf.raw);
  for (let c = leaf; issuers.length < MAX_CHAIN; ) {
    const next = c.issuerCertificate as DetailedPeerCertificate | undefined;
    // Node ends a chain at a self-signed certificate by linking it to itself.
    if (next?.raw === undefined || next === c || next.raw.equals(c.raw)) break;
    const issuer = new X509Certificate(next.raw);
    if (!signed(child, issuer)) {
      // A trusted CA that did sign it ends the chain there; else the chain lies about its links.
      const anchor = anchors.find((a) => signed(child, a));
      if (anchor === undefined) return { verified: false };
      issuers.push(anchor);
      break;
    }
    issuers.push(issuer);
    child = issuer;
    c = next;
  }
  return { verified: true, issuers };
}
