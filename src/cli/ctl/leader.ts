/** `ctl leader transfer [ID]`: hand leadership to a voter. */
import type { Command } from 'commander';
import { UsageError } from '../../api/errors.js';
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
      // An unset shell variable ("$TARGET") must not mean "any voter".
      if (id !== undefined && id.trim() === '') throw new UsageError('expected a voter id, found an empty string (leave ID out to let the cluster choose)');
      const result = await session.client().leaderTransfer(id);
      // A transfer to the leader itself changes nothing: say so (exit 0), as a repeated member step does.
      const text = result.unchanged ? `leader: ${result.leader} (already the leader; nothing changed)\n` : `leader: ${result.leader}\n`;
      printChange(session, opts.output, text, { leader: result.leader, changed: !result.unchanged });
    });
}
