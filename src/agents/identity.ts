/**
 * With TLS an agent's id is its certificate's identity, so no other certificate can speak for
 * it: the subject's common name (CN). The controller reads it from the stream's peer
 * certificate; the agent binary reads its own from its certificate file.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { AgentsError } from './errors.js';

/** The CN of a peer certificate, or null when the stream has none (no TLS, or no client certificate). */
export function peerIdentity(cert: Partial<PeerCertificate> | undefined | null): string | null {
  const cn = cert?.subject?.CN as string | string[] | undefined;
  const value = Array.isArray(cn) ? cn[0] : cn;
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The CN of a PEM certificate; throws AgentsError when it has none. */
export function certificateIdentity(pem: Buffer | string, file: string): string {
  let subject: string;
  try {
    subject = new X509Certificate(pem).subject;
  } catch (err) {
    throw new AgentsError('IDENTITY', `expected a PEM certificate in ${file}, found one that does not parse: ${(err as Error).message}`, { cause: err });
  }
  const cn = subject.split('\n').find((line) => line.startsWith('CN='));
  if (cn === undefined || cn.length <= 3) throw new AgentsError('IDENTITY', `expected a subject CN (the agent id) in ${file}, found subject ${JSON.stringify(subject)}`);
  return cn.slice(3);
}
