/**
 * A TLS reload (SIGHUP): re-read the files, check them exactly as a start does
 * (tls-snapshot.ts), and on success swap them in for new connections (tls-in-force.ts); on
 * failure keep what is in force. Either way one structured log line and a count: TLS_RELOADED
 * with what changed, or TLS_RELOAD_FAILED naming the config key, the file and the cause. An
 * operator who publishes a bad CRL learns it from the log and the metric, not from a cluster
 * that locks out its peers. Synchronous: the files are small, and no connection should start
 * between the check and the swap. A new tls.crl then closes the connections its CRLs revoke
 * (TLS_REVOKED_CLOSED for each), a thousand connections looked at per turn of the event loop.
 */
import type { Logger } from 'pino';
import type { ClosedConnection } from '../transport/revoked-sockets.js';
import { tlsChange, type TlsChange } from '../transport/tls-change.js';
import { readTlsSnapshot, type ControllerTlsFiles, type TlsCheckProblem } from '../transport/tls-snapshot.js';
import type { ReadTlsFile } from '../transport/tls-files.js';
import type { TlsInForce } from './tls-in-force.js';
import type { TlsReloadResult } from './tls-metrics.js';

export type TlsReloadOutcome = { readonly ok: true; readonly change: TlsChange } | { readonly ok: false; readonly problem: TlsCheckProblem };

export interface TlsReloaderOptions {
  readonly files: ControllerTlsFiles;
  readonly selfId: string;
  readonly inForce: TlsInForce;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly onResult: (result: TlsReloadResult) => void;
  /** After a successful swap (the expiry watch looks at the new dates). */
  readonly onReloaded?: () => void;
  /** The connections a new tls.crl closed, once all were looked at (none: not called). */
  readonly onRevokedClosed?: (closed: readonly ClosedConnection[]) => void;
  readonly readFile?: ReadTlsFile;
  readonly now?: () => number;
}

export class TlsReloader {
  constructor(private readonly o: TlsReloaderOptions) {}

  reload(): TlsReloadOutcome {
    const outcome = this.attempt();
    this.o.onResult(outcome.ok ? 'ok' : 'failed');
    if (outcome.ok) {
      const { changed, cert, crls } = outcome.change;
      const what = changed.length === 0 ? 'no file changed' : `${changed.join(', ')} changed`;
      this.o.logger.info({ code: 'TLS_RELOADED', changed, cert, crls }, `TLS reloaded: ${what}; in force for new connections (certificate serial ${cert.serial}, notAfter ${cert.notAfter}; ${crls.count} CRL(s))`);
      this.o.onReloaded?.();
      if (changed.includes('tls.crl')) void this.closeRevoked();
    } else {
      const p = outcome.problem;
      this.o.logger.error({ code: 'TLS_RELOAD_FAILED', key: p.keyPath, file: p.file, cause: p.reason }, `TLS reload refused, the previous material stays in force: ${p.keyPath} ${p.reason}`);
    }
    return outcome;
  }

  private async closeRevoked(): Promise<void> {
    let closed: ClosedConnection[];
    try {
      closed = await this.o.inForce.closeRevoked();
    } catch (err) {
      this.o.logger.error({ code: 'TLS_REVOKED_CLOSE_FAILED', cause: (err as Error).message }, `the connections of revoked certificates could not be looked for: ${(err as Error).message}`);
      return;
    }
    for (const c of closed) {
      const which = c.side === 'outgoing' ? `to the peer at ${c.remote}` : `from ${c.remote}${c.side === 'metrics' ? ' to /metrics' : ''}`;
      this.o.logger.warn({ code: 'TLS_REVOKED_CLOSED', side: c.side, remote: c.remote, subject: c.subject, serial: c.serial }, `closed the connection ${which}: its certificate (${c.subject}, serial ${c.serial}) is revoked by tls.crl`);
    }
    if (closed.length > 0) this.o.onRevokedClosed?.(closed);
  }

  private attempt(): TlsReloadOutcome {
    const before = this.o.inForce.current;
    let checked;
    try {
      checked = readTlsSnapshot(this.o.files, this.o.selfId, { ...(this.o.readFile ? { readFile: this.o.readFile } : {}), now: (this.o.now ?? Date.now)() });
    } catch (err) {
      // The checks name every problem they know; anything else still must not stop the node.
      return { ok: false, problem: { keyPath: 'tls', file: '', reason: `the files could not be checked: ${(err as Error).message}` } };
    }
    if (!checked.ok) return checked;
    try {
      this.o.inForce.replace(checked.snapshot);
    } catch (err) {
      // What the checks passed but OpenSSL would not load: name the material, not one file.
      return { ok: false, problem: { keyPath: 'tls', file: this.o.files.cert, reason: `OpenSSL refused the material: ${(err as Error).message}` } };
    }
    return { ok: true, change: tlsChange(before, checked.snapshot) };
  }
}
