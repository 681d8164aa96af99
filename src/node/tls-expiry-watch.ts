/**
 * The driver of tls-expiry.ts: looks at the material in force at start, after each reload and
 * once a minute, and logs each CRL or certificate near its end once (CRL_EXPIRING,
 * CERT_EXPIRING, at warn), and once more when the date has passed (CRL_EXPIRED, CERT_EXPIRED,
 * at error: handshakes are failing by then). The timer is unref'd: it never keeps a stopping
 * process alive.
 */
import type { Logger } from 'pino';
import { expiryWarnings, WarnedOnce } from '../transport/tls-expiry.js';
import type { TlsSnapshot } from '../transport/tls-snapshot.js';

export const EXPIRY_CHECK_INTERVAL_MS = 60_000;

export class TlsExpiryWatch {
  private readonly warned = new WarnedOnce();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly current: () => TlsSnapshot,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), EXPIRY_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  check(): void {
    for (const w of this.warned.fresh(expiryWarnings(this.current(), this.now()))) {
      const fields = { code: w.code, file: w.file, what: w.what, at: new Date(w.at).toISOString() };
      if (w.code.endsWith('_EXPIRED')) this.logger.error(fields, w.message);
      else this.logger.warn(fields, w.message);
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
