/**
 * TLS handshakes the controller's port refused (guarded-listener.ts): why, as a metric label,
 * and a log line that an attacker cannot turn into a flood: at most one line per source address
 * per minute, carrying how many were refused since the last line, and at most 100 lines a
 * minute in all (the next line says how many failures from other sources it left out).
 */
import type { Logger } from 'pino';

/** The `reason` label of controller_tls_handshake_failures_total. */
export type HandshakeFailureReason = 'certificate' | 'timeout' | 'closed' | 'tls_error';

export interface HandshakeFailure {
  readonly source: string;
  readonly reason: HandshakeFailureReason;
  /** The TLS or verification error code, e.g. CERT_HAS_EXPIRED; '' when there is none. */
  readonly code: string;
  readonly message: string;
}

/**
 * `authorizationError` is Node's verdict on the client's certificate (wrong CA, expired, none):
 * Node then closes the socket and reports only "socket hang up", so it is checked first.
 */
export function classifyHandshakeFailure(source: string, err: NodeJS.ErrnoException, authorizationError: string | null): HandshakeFailure {
  if (authorizationError) return { source, reason: 'certificate', code: authorizationError, message: `client certificate refused: ${authorizationError}` };
  const code = err.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { source, reason: 'timeout', code, message: err.message };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { source, reason: 'closed', code, message: err.message };
  return { source, reason: 'tls_error', code, message: err.message };
}

export const HANDSHAKE_LOG_INTERVAL_MS = 60_000;
/** Lines per interval from all sources together: many addresses (an IPv6 prefix) get no more. */
export const HANDSHAKE_LOG_LINES_PER_INTERVAL = 100;
/** Addresses remembered between lines; past it the table restarts (an attacker with many addresses gets a line per address per sweep at most). */
const MAX_SOURCES = 4096;

interface SourceState {
  lastLoggedAt: number;
  suppressed: number;
}

export class HandshakeFailureLog {
  private readonly sources = new Map<string, SourceState>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  /** Failures from sources that found the budget spent, told with the next line. */
  private othersSuppressed = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly now: () => number = Date.now,
  ) {}

  record(f: HandshakeFailure): void {
    const t = this.now();
    const s = this.sources.get(f.source);
    if (s && t - s.lastLoggedAt < HANDSHAKE_LOG_INTERVAL_MS) {
      s.suppressed++;
      return;
    }
    if (t - this.windowStart >= HANDSHAKE_LOG_INTERVAL_MS) {
      this.windowStart = t;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= HANDSHAKE_LOG_LINES_PER_INTERVAL) {
      this.othersSuppressed++;
      return;
    }
    this.linesInWindow++;
    if (!s && this.sources.size >= MAX_SOURCES) this.sweep(t);
    const count = 1 + (s?.suppressed ?? 0);
    this.sources.set(f.source, { lastLoggedAt: t, suppressed: 0 });
    const others = this.othersSuppressed === 0 ? {} : { othersSuppressed: this.othersSuppressed };
    this.othersSuppressed = 0;
    this.logger.warn({ source: f.source, reason: f.reason, code: f.code, count, ...others }, `refused a TLS handshake from ${f.source}: ${f.message}`);
  }

  private sweep(t: number): void {
    for (const [source, s] of this.sources) if (t - s.lastLoggedAt >= HANDSHAKE_LOG_INTERVAL_MS) this.sources.delete(source);
    if (this.sources.size >= MAX_SOURCES) this.sources.clear();
  }
}
