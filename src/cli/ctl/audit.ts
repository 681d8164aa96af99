/** `ctl audit`: membership and leadership events, optionally followed until Ctrl-C. */
import { Option, type Command } from 'commander';
import { AUDIT_FORMATS, renderAuditEvent, type AuditFormat } from '../output.js';
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
      try {
        await session
          .client()
          .audit({ sinceMs, follow: opts.follow, signal: abort.signal }, (e) => session.io.out(renderAuditEvent(e, opts.output)));
      } finally {
        stop();
      }
    });
}
