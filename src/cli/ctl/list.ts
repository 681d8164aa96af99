/** `ctl list controllers`: every member as the answering controller sees it. */
import { Option, type Command } from 'commander';
import { CONTROLLER_FORMATS, renderControllers, staleWarning, type ControllerFormat } from '../output.js';
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
      session.io.out(renderControllers(view, opts.output));
    });
}
