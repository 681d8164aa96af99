/**
 * A certificate's subject, for messages and for finding its CN. Node's X509Certificate.subject
 * is undefined, not '', for a certificate whose subject DN is empty (RFC 5280 allows one with a
 * subjectAltName; SPIFFE SVIDs look like this), whatever its type says: a client presenting such
 * a certificate took a controller down by reaching `.replace` on it (attack round 10). Every
 * subject read from a certificate goes through here.
 */
import type { X509Certificate } from 'node:crypto';

/** What a message says of a certificate with an empty subject DN. */
export const EMPTY_SUBJECT = '(empty subject)';

/** The subject's attributes, one `KEY=value` per line as Node gives them; '' when the DN is empty. */
export function subjectLines(cert: X509Certificate): string {
  const subject: unknown = cert.subject;
  return typeof subject === 'string' ? subject : '';
}

/** The subject on one line (`CN=c1, O=example`), or EMPTY_SUBJECT. */
export function subjectText(cert: X509Certificate): string {
  const lines = subjectLines(cert);
  return lines === '' ? EMPTY_SUBJECT : lines.replace(/\n/g, ', ');
}
