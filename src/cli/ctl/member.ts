/** `ctl member add|promote|remove`: membership changes, one at a time. */
import type { Command } from 'commander';
import { UsageError } from '../../api/errors.js';
import { parseHostPort } from '../../config/host-port.js';
import { renderMembers } from '../output.js';
import type { Session } from './context.js';
import { registerMemberList } from './member-list.js';

export function registerMember(program: Command, session: Session): void {
  const member = program.command('member').description('change the cluster membership');

  member
    .command('add')
    .description('add controller ID reachable at ADDRESS (host:port)')
    .argument('<id>')
    .argument('<address>')
    .option('--learner', 'add as a non-voting learner (promote it once it has caught up)', false)
    .action(async (id: string, address: string, opts: { readonly learner: boolean }) => {
      const parsed = parseHostPort(address);
      if (!parsed.ok) throw new UsageError(`member add ADDRESS: ${parsed.reason}`);
      const members = await session.client().memberAdd(id, address, opts.learner);
      session.io.out(`added ${id}${opts.learner ? ' as a learner' : ''}; ${renderMembers(members)}\n`);
    });

  member
    .command('promote')
    .description('make learner ID a voter')
    .argument('<id>')
    .action(async (id: string) => {
      const members = await session.client().memberPromote(id);
      session.io.out(`promoted ${id}; ${renderMembers(members)}\n`);
    });

  member
    .command('remove')
    .description('remove controller ID from the cluster')
    .argument('<id>')
    .action(async (id: string) => {
      const members = await session.client().memberRemove(id);
      session.io.out(`removed ${id}; ${renderMembers(members)}\n`);
    });
  registerMemberList(member, session);
}
