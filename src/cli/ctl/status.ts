/** `ctl status`: the answering node's raft state. */
import { Option, type Command } from 'commander';
import { renderStatus, STATUS_FORMATS, type StatusFormat } from '../output.js';
import type { Session } from './context.js';

export function registerStatus(program: Command, session: Session): void {
  program
    .command('status')
    .description("this node's raft state: term, leader, commit and applied index")
    .addOption(new Option('-o, --output <format>', 'output format').choices(STATUS_FORMATS).default('text'))
    .action(async (opts: { readonly output: StatusFormat }) => {
      session.io.out(renderStatus(await session.client().status(), opts.output));
    });
}
