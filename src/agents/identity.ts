/**
 * With TLS an agent's id is its certificate's identity, so no other certificate can speak for
 * it: the subject's common name (CN). The controller reads it from the stream's peer
 * certificate; the agent binary reads its own from its certificate file.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { subjectLines } from '../transport/cert-subject.js';
import { AgentsError } from './errors.js';

/**
 * What a stream's transport says about who is on it: nothing without TLS (the hello's agent id
 * is taken as it is), or a client certificate and the agent id it names (its CN; null when it
 * has none, which speaks for no agent).
 */
export type StreamIdentity = { readonly tls: false } | { readonly tls: true; readonly agentId: string | null };

export const PLAINTEXT_STREAM: StreamIdentity = { tls: false };

/** A TLS stream whose client certificate names `agentId` (null: no CN). */
export function certificateStream(agentId: string | null): StreamIdentity {
  return { tls: true, agentId };
}

/** The stream's identity from its gRPC auth context (`call.getAuthContext()`). */
export function streamIdentity(auth: { readonly transportSecurityType?: string; readonly sslPeerCertificate?: Partial<PeerCertificate> } | null | undefined): StreamIdentity {
  if (auth?.transportSecurityType !== 'ssl') return PLAINTEXT_STREAM;
  return certificateStream(peerIdentity(auth.sslPeerCertificate));
}

/**
 * Why a stream may not speak for `agentId`, or null when it may. With TLS a certificate without a
 * CN names no agent, so it may speak for none (else any certificate the CA signed, for a service
 * or a person, could take over any agent's stream).
 */
export function identityRefusal(identity: StreamIdentity, agentId: string): string | null {
  if (!identity.tls) return null;
  if (identity.agentId === null) return `the client certificate has no subject CN, so it names no agent and cannot speak for agent ${JSON.stringify(agentId)} (an agent's certificate carries its id as its CN)`;
  if (identity.agentId !== agentId) return `the certificate identity ${JSON.stringify(identity.agentId)} cannot speak for agent ${JSON.stringify(agentId)}`;
  return null;
}

/** The CN of a peer certificate, or null when it has none (or there is no certificate). */
export function peerIdentity(cert: Partial<PeerCertificate> | undefined | null): string | null {
  const cn = cert?.subject?.CN as string | string[] | undefined;
  const value = Array.isArray(cn) ? cn[0] : cn;
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The CN of a PEM certificate; throws AgentsError when it has none. */
export function certificateIdentity(pem: Buffer | string, file: string): string {
  let subject: string;
  try {
    subject = subjectLines(new X509Certificate(pem));
  } catch (err) {
    throw new AgentsError('IDENTITY', `expected a PEM certificate in ${file}, found one that does not parse: ${(err as Error).message}`, { cause: err });
  }
  const cn = subject.split('\n').find((line) => line.startsWith('CN='));
  if (cn === undefined || cn.length <= 3) throw new AgentsError('IDENTITY', `expected a subject CN (the agent id) in ${file}, found subject ${JSON.stringify(subject)}`);
  return cn.slice(3);
}
