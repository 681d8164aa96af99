/**
 * `ctl audit`: membership and leadership events, optionally followed until Ctrl-C. When the
 * answering controller could not write some events (its trail lacks them), a warning goes to
 * stderr: after a listing (where it is not scrolled away), and at once while following.
 */
import { Option, type Command } from 'commander';
import type { AuditDroppedJson } from '../../api/answers.js';
import { AUDIT_FORMATS, auditDroppedWarning, renderAuditEvent, type AuditFormat } from '../output.js';
import { durationArg, type Session } from './context.js';

interface AuditFlags {
  readonly since?: number;
  readonly follow: boolean;
  readonly output: AuditFormat;
}

export function registerAudit(program: Command, session: Session): void {
  program
    .command('audit')
    .description('print audit events (JSON Lines with -o json)')
    .option('--since <duration>', 'only events from the last DURATION (e.g. 10m)', durationArg)
    .option('--follow', 'keep printing new events until interrupted', false)
    .addOption(new Option('-o, --output <format>', 'output format').choices(AUDIT_FORMATS).default('text'))
    .action(async (opts: AuditFlags) => {
      const sinceMs = opts.since === undefined ? 0 : Math.max(1, session.io.now() - opts.since);
      const abort = new AbortController();
      const stop = opts.follow ? session.io.onInterrupt(() => abort.abort()) : () => undefined;
      let dropped: AuditDroppedJson | null = null;
      const onDropped = (d: AuditDroppedJson): void => {
        if (opts.follow) session.io.err(auditDroppedWarning(d));
        else dropped = d;
      };
      try {
        await session
          .client()
          .audit({ sinceMs, follow: opts.follow, signal: abort.signal, onDropped }, (e) => session.io.out(renderAuditEvent(e, opts.output)));
      } finally {
        stop();
        if (dropped !== null) session.io.err(auditDroppedWarning(dropped));
      }
    });
}
