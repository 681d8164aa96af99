/** `ctl list controllers` and `ctl list agents`: members and agents as the answering controller sees them. */
import { Option, type Command } from 'commander';
import { renderAgents } from '../agents-output.js';
import { CONTROLLER_FORMATS, duplicateWarnings, renderControllers, staleWarning, type ControllerFormat } from '../output.js';
import type { Session } from './context.js';

export function registerList(program: Command, session: Session): void {
  const list = program.command('list').description('list cluster objects');
  list
    .command('controllers')
    .description('every controller with its status and role (-o wide: every column)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(CONTROLLER_FORMATS).default('table'))
    .action(async (opts: { readonly output: ControllerFormat }) => {
      const view = await session.client().listControllers();
      // The data still goes to stdout unchanged: a stale view is better than none in an outage.
      if (view.stale) session.io.err(staleWarning(view));
      for (const line of duplicateWarnings(view)) session.io.err(line);
      if (view.otherClusters !== '') session.io.err(`warning: ${view.otherClusters}`);
      session.io.out(renderControllers(view, opts.output));
    });
  list
    .command('agents')
    .description('every agent: its controller, sync state (SYNCED, STALE, NACKED, NOT_SENT), versions, pushes, contact (-o wide: every column)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(CONTROLLER_FORMATS).default('table'))
    .action(async (opts: { readonly output: ControllerFormat }) => {
      const view = await session.mesh().listAgents();
      if (view.stale) session.io.err(staleWarning(view));
      session.io.out(renderAgents(view, opts.output));
    });
}
