/**
 * What a TLS reload changed, for its log line: which files' bytes differ, and the facts an
 * operator checks after a rotation (the certificate's serial and notAfter) or a revocation (how
 * many CRLs, the earliest nextUpdate). Pure: two snapshots in, a record out.
 */
import { earliestNextUpdate } from './tls-expiry.js';
import type { TlsSnapshot } from './tls-snapshot.js';

export interface TlsChange {
  /** Config keys whose file's bytes changed, in the order of the tls block; empty: none. */
  readonly changed: readonly string[];
  readonly cert: { readonly serial: string; readonly notAfter: string; readonly previousSerial: string };
  readonly crls: { readonly count: number; readonly previousCount: number; readonly earliestNextUpdate: string | null };
}

const KEYS = [
  ['tls.ca', 'ca'],
  ['tls.cert', 'cert'],
  ['tls.key', 'key'],
  ['tls.client_ca', 'clientCa'],
  ['tls.agent_ca', 'agentCa'],
  ['tls.metrics_client_ca', 'metricsClientCa'],
  ['tls.crl', 'crl'],
] as const;

function same(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

export function tlsChange(before: TlsSnapshot, after: TlsSnapshot): TlsChange {
  const next = earliestNextUpdate(after.crls);
  return {
    changed: KEYS.filter(([, field]) => !same(before[field], after[field])).map(([key]) => key),
    cert: { serial: after.certificate.serialNumber, notAfter: new Date(after.certificate.validTo).toISOString(), previousSerial: before.certificate.serialNumber },
    crls: { count: after.crls.length, previousCount: before.crls.length, earliestNextUpdate: next === null ? null : new Date(next).toISOString() },
  };
}
