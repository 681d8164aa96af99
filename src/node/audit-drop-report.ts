/**
 * What a controller does with an audit event its store could not write (round 6's F5): it keeps
 * running (the audit store is not the Raft log), counts the event, remembers the loss for the
 * Audit stream, and logs at error level: the first failure with its cause, then at most once a
 * minute with the count. Before, each event logged one warning and nothing else knew.
 */
import type { Logger } from 'pino';
import type { AuditEvent } from '../membership/audit.js';
import type { AuditDrops } from '../membership/audit-drops.js';
import { MembershipError } from '../membership/errors.js';

export interface AuditDropReportDeps {
  readonly drops: AuditDrops;
  readonly onDropped: () => void;
  readonly logger: Pick<Logger, 'error' | 'warn'>;
  /** Wall clock, ms since the epoch. */
  readonly now: () => number;
}

function causeOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The handler for a rejected `AuditStore.append`. */
export function auditDropReporter(deps: AuditDropReportDeps): (event: AuditEvent, err: unknown) => void {
  return (event, err) => {
    // Appends after close happen only while the process stops: no gap an operator could ask about.
    if (err instanceof MembershipError && err.code === 'AUDIT_STORE_CLOSED') {
      deps.logger.warn({ err, audit: event }, 'audit event not persisted: the audit store is closed (stopping)');
      return;
    }
    deps.onDropped();
    const line = deps.drops.record(causeOf(err), deps.now());
    if (line === null) return;
    if (line.first) {
      deps.logger.error(
        { err, audit: event, code: 'AUDIT_WRITE_FAILED' },
        `audit event not persisted (${line.cause}): this controller's audit trail lacks it and any further ones until its audit store can be written; audit_events_dropped_total counts them, ctl audit from here says so`,
      );
    } else {
      deps.logger.error(
        { err, code: 'AUDIT_WRITE_FAILED', dropped: line.dropped, total: line.total },
        `${line.dropped} more audit events not persisted (${line.total} since the first failure; latest: ${line.cause})`,
      );
    }
  };
}
