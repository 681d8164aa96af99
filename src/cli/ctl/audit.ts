/**
 * `ctl audit`: membership and leadership events, optionally followed until Ctrl-C. When the
 * answering controller could not write some events (its trail lacks them), a warning goes to
 * stderr: after a listing (where it is not scrolled away), and at once while following.
 *
 * A follow whose controller stops (or is killed) after events were printed does not move to
 * another controller: each keeps its own trail, whose events and times differ, so a switch would
 * repeat some and skip others unseen. It ends naming the controller that went away, and exits 1
 * when another endpoint answers (follow that one again with --since), 3 when none does.
 */
import { Option, type Command } from 'commander';
import type { AuditDroppedJson } from '../../api/answers.js';
import { AUDIT_FORMATS, auditDroppedWarning, renderAuditEvent, type AuditFormat } from '../output.js';
import { ApiError } from '../../api/errors.js';
import { durationArg, untilStopped, type Session } from './context.js';

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
      const stop = opts.follow ? untilStopped(session.io, () => abort.abort()) : () => undefined;
      let dropped: AuditDroppedJson | null = null;
      const onDropped = (d: AuditDroppedJson): void => {
        if (opts.follow) session.io.err(auditDroppedWarning(d));
        else dropped = d;
      };
      let last: string | null = null;
      try {
        await session.client().audit({ sinceMs, ...(opts.since === undefined ? {} : { sinceAgoMs: opts.since }), follow: opts.follow, signal: abort.signal, onDropped }, (e) => {
          last = e.time;
          session.io.out(renderAuditEvent(e, opts.output));
        });
      } catch (err) {
        if (!opts.follow || last === null || !(err instanceof ApiError) || err.code !== 'UNREACHABLE') throw err;
        throw await followLost(session, err, last);
      } finally {
        stop();
        if (dropped !== null) session.io.err(auditDroppedWarning(dropped));
      }
    });
}

/** The error a follow lost after events ends with: the lost stream's, and which endpoints answer now. */
async function followLost(session: Session, lost: ApiError, lastTime: string): Promise<ApiError> {
  const client = session.client();
  const answering = (await Promise.all(client.endpoints.map((e) => client.statusOn(e).then(() => e, () => null)))).filter((e) => e !== null);
  if (answering.length === 0) return lost;
  return new ApiError(
    'SHUTTING_DOWN',
    `${lost.message}; the audit follow ended: each controller keeps its own trail, so it does not move to another's. ` +
      `${answering.join(', ')} answer${answering.length === 1 ? 's' : ''}: follow again there with --since covering the last event printed (${lastTime})`,
    undefined,
    { cause: lost },
  );
}
