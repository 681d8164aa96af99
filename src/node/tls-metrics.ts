/**
 * The TLS material's metrics: reloads by result, and how long until the material in force
 * stops working (the earliest CRL nextUpdate that counts, this node's certificate's notAfter),
 * read on scrape from what is in force, so an alert can fire days ahead of the outage.
 */
import client from 'prom-client';
import { earliestNextUpdate } from '../transport/tls-expiry.js';
import type { TlsSnapshot } from '../transport/tls-snapshot.js';

export type TlsReloadResult = 'ok' | 'failed';

/** The families, by name (docs/reference.md lists each; test/cli/reference-doc.test.ts checks). */
export const TLS_METRICS = { reloads: 'controller_tls_reloads_total', crlNextUpdate: 'controller_tls_crl_next_update_seconds', certNotAfter: 'controller_tls_cert_not_after_seconds', revokedClosed: 'controller_tls_revoked_connections_closed_total' } as const;

export class TlsMetrics {
  private readonly reloads: client.Counter<'result'>;
  private readonly revokedClosed: client.Counter;

  constructor(registry: client.Registry, current: () => TlsSnapshot, now: () => number = Date.now) {
    const registers = [registry];
    this.reloads = new client.Counter({
      name: TLS_METRICS.reloads,
      help: 'TLS reloads (SIGHUP) by result: ok = the files passed the start-up checks and are in force for new connections; failed = refused, the previous material stays (logged as TLS_RELOAD_FAILED).',
      labelNames: ['result'],
      registers,
    });
    // Both series exist from the start, so rate() and absent() work before the first reload.
    for (const result of ['ok', 'failed'] as const) this.reloads.inc({ result }, 0);
    this.revokedClosed = new client.Counter({
      name: TLS_METRICS.revokedClosed,
      help: 'Connections closed by a TLS reload because a new tls.crl revokes the certificate at their other end: callers on the gRPC port, scrapers of /metrics, peers this node dialed (each logged as TLS_REVOKED_CLOSED).',
      registers,
    });
    new client.Gauge({
      name: TLS_METRICS.crlNextUpdate,
      help: "Seconds until the earliest nextUpdate of the CRLs in tls.crl (of each CA's, the latest); negative once passed, when OpenSSL refuses every certificate of that CA. No sample without a CRL that expires.",
      registers,
      collect() {
        this.reset();
        const next = earliestNextUpdate(current().crls);
        if (next !== null) this.set((next - now()) / 1000);
      },
    });
    new client.Gauge({
      name: TLS_METRICS.certNotAfter,
      help: "Seconds until this node's certificate (tls.cert) expires; past it every peer and client refuses this node.",
      registers,
      collect() {
        const to = Date.parse(current().certificate.validTo);
        if (Number.isFinite(to)) this.set((to - now()) / 1000);
      },
    });
  }

  onReload(result: TlsReloadResult): void {
    this.reloads.inc({ result });
  }

  onRevokedClosed(count: number): void {
    this.revokedClosed.inc(count);
  }
}
