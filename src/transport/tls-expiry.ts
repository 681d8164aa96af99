/**
 * The two dates of a controller's TLS material that silently stop it working: a CRL's
 * nextUpdate (past it, OpenSSL refuses every certificate its CA signed: CRL_HAS_EXPIRED, so the
 * controllers' CA's CRL takes every peer with it) and the own certificate's notAfter (past it,
 * every peer refuses this node). Pure: the time comes in as `now`; the driver
 * (src/node/tls-expiry-watch.ts) decides when to ask.
 */
import { subjectText } from './cert-subject.js';
import { subjectDer, type CrlSummary } from './crl-coverage.js';
import { pemCertificates } from './tls-files.js';
import type { TlsSnapshot } from './tls-snapshot.js';

/** Below this much time left a date is near, whatever its validity. */
export const EXPIRY_FLOOR_MS = 24 * 3600 * 1000;

/**
 * Whether something valid from `from` to `to` is near its end at `now`: under 24 h left, or
 * under a quarter of its validity (a CRL issued weekly is refreshed with days to spare; one
 * issued daily warns as soon as it is loaded, which is what a daily CRL needs: a refresh a day).
 */
export function nearEnd(from: number, to: number, now: number): boolean {
  return to - now < Math.max(EXPIRY_FLOOR_MS, (to - from) / 4);
}

/**
 * The nextUpdate that counts for each CA with a CRL in the file, soonest first. Of several CRLs
 * from one CA OpenSSL uses a current one, so the latest is the one that counts; a CRL without a
 * nextUpdate never expires and is left out.
 */
export function crlDeadlines(crls: readonly CrlSummary[]): Array<{ readonly issuer: Buffer; readonly thisUpdate: number; readonly nextUpdate: number }> {
  const byIssuer = new Map<string, { issuer: Buffer; thisUpdate: number; nextUpdate: number }>();
  for (const c of crls) {
    if (c.nextUpdate === null) continue;
    const key = c.issuer.toString('hex');
    const seen = byIssuer.get(key);
    if (seen === undefined || c.nextUpdate > seen.nextUpdate) byIssuer.set(key, { issuer: c.issuer, thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate });
  }
  return [...byIssuer.values()].sort((a, b) => a.nextUpdate - b.nextUpdate);
}

/** ms since the epoch of the earliest nextUpdate that counts; null: no CRL, or none that expires. */
export function earliestNextUpdate(crls: readonly CrlSummary[]): number | null {
  return crlDeadlines(crls)[0]?.nextUpdate ?? null;
}

export interface ExpiryWarning {
  /** _EXPIRING while the date is ahead, _EXPIRED once it has passed (and the outage has begun). */
  readonly code: 'CRL_EXPIRING' | 'CRL_EXPIRED' | 'CERT_EXPIRING' | 'CERT_EXPIRED';
  /** The same for the same CRL or certificate in the same phase, so a driver warns once per item and phase. */
  readonly key: string;
  /** The file, and what in it: `the CRL of CN=ca`, `this node's certificate`. */
  readonly file: string;
  readonly what: string;
  /** ms since the epoch. */
  readonly at: number;
  readonly message: string;
}

function describeLeft(at: number, now: number): string {
  const left = at - now;
  if (left <= 0) return `passed at ${new Date(at).toISOString()}`;
  const hours = left / 3_600_000;
  return `${new Date(at).toISOString()}, in ${hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} days`}`;
}

/** Every date of `s` near its end at `now` (nearEnd), CRLs first. */
export function expiryWarnings(s: TlsSnapshot, now: number): ExpiryWarning[] {
  const out: ExpiryWarning[] = [];
  if (s.files.crl !== null) {
    const cas = [s.ca, s.clientCa, s.agentCa, s.metricsClientCa].flatMap((pem) => (pem === null ? [] : pemCertificates(pem)));
    for (const d of crlDeadlines(s.crls)) {
      if (!nearEnd(d.thisUpdate, d.nextUpdate, now)) continue;
      const ca = cas.find((c) => subjectDer(c).equals(d.issuer));
      const what = `the CRL of ${ca === undefined ? 'a CA of no configured file' : subjectText(ca)}`;
      const passed = d.nextUpdate <= now;
      out.push({
        code: passed ? 'CRL_EXPIRED' : 'CRL_EXPIRING',
        key: `crl:${d.issuer.toString('hex')}:${d.thisUpdate}:${d.nextUpdate}:${passed ? 'passed' : 'near'}`,
        file: s.files.crl,
        what,
        at: d.nextUpdate,
        message: `${what} in tls.crl ${s.files.crl}: its nextUpdate ${describeLeft(d.nextUpdate, now)}; past it every certificate that CA signs is refused (CRL_HAS_EXPIRED): publish a fresh CRL and reload (SIGHUP)`,
      });
    }
  }
  const from = Date.parse(s.certificate.validFrom);
  const to = Date.parse(s.certificate.validTo);
  if (Number.isFinite(from) && Number.isFinite(to) && nearEnd(from, to, now)) {
    const passed = to <= now;
    out.push({
      code: passed ? 'CERT_EXPIRED' : 'CERT_EXPIRING',
      key: `cert:${s.certificate.fingerprint256}:${passed ? 'passed' : 'near'}`,
      file: s.files.cert,
      what: "this node's certificate",
      at: to,
      message: `this node's certificate in tls.cert ${s.files.cert} (serial ${s.certificate.serialNumber}) expires ${describeLeft(to, now)}; past it every peer and client refuses this node: install a new one and reload (SIGHUP)`,
    });
  }
  return out;
}

/** Remembers what was warned about, so each item is warned about once per phase (near, passed) per process. */
export class WarnedOnce {
  private readonly keys = new Set<string>();

  /** The warnings of `all` not warned about before (and now counted as warned). */
  fresh(all: readonly ExpiryWarning[]): ExpiryWarning[] {
    const out = all.filter((w) => !this.keys.has(w.key));
    for (const w of out) this.keys.add(w.key);
    return out;
  }
}
