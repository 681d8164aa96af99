/** `ctl leader transfer [ID]`: hand leadership to a voter. */
import type { Command } from 'commander';
import { changeOutputOption, printChange, type ChangeFormat } from './change-output.js';
import type { Session } from './context.js';

export function registerLeader(program: Command, session: Session): void {
  const leader = program.command('leader').description('leadership operations');
  leader
    .command('transfer')
    .description('transfer leadership to voter ID (default: the most up-to-date voter) and print the new leader')
    .argument('[id]')
    .addOption(changeOutputOption())
    .action(async (id: string | undefined, opts: { readonly output: ChangeFormat }) => {
      const result = await session.client().leaderTransfer(id);
      printChange(session, opts.output, `leader: ${result.leader}\n`, { leader: result.leader });
    });
}
