/**
 * `ctl member add|promote|remove|list`: membership changes, one at a time, each safe to repeat
 * (a change already in effect exits 0 and says so; an id never in the cluster exits 4).
 */
import { Option, type Command } from 'commander';
import type { MembersJson } from '../../api/answers.js';
import { ApiError, UsageError } from '../../api/errors.js';
import { parseHostPort } from '../../config/host-port.js';
import { formatDuration } from '../cell-format.js';
import { renderMembers } from '../output.js';
import { positiveDurationArg, type Session } from './context.js';
import { registerMemberList } from './member-list.js';

export const DEFAULT_WAIT_MS = 5 * 60_000;
const WAIT_POLL_MS = 500;

/** One line: what happened (or that nothing had to), what comes next, and the configuration. */
function report(done: string, m: MembersJson): string {
  const what = m.unchanged ? m.detail : m.detail === '' ? done : `${done}; ${m.detail}`;
  return `${what}; ${renderMembers(m)}\n`;
}

/** Polls the member list until `id` is a voter or the time is up. */
async function waitForVoter(session: Session, id: string, timeoutMs: number): Promise<void> {
  const deadline = session.io.now() + timeoutMs;
  for (;;) {
    const list = await session.operator().memberList();
    const m = list.members.find((x) => x.id === id);
    if (m === undefined) throw new ApiError('UNKNOWN_NODE', `${id} is no longer a member (removed while waiting)`);
    if (m.role === 'voter') return;
    if (session.io.now() >= deadline) {
      throw new ApiError('TIMEOUT', `${id} is still a learner after ${formatDuration(timeoutMs)}: is it running with --join? (see \`ctl member list\` and its log)`);
    }
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

export function registerMember(program: Command, session: Session): void {
  const member = program.command('member').description('change the cluster membership (each step safe to repeat)');
  member
    .command('add')
    .description('add controller ID at ADDRESS (host:port) as a learner the leader promotes once caught up; start it with --join')
    .argument('<id>')
    .argument('<address>')
    .option('--learner', 'keep it a learner until `ctl member promote` (or autopilot.promote_learners)', false)
    .option('--wait', 'wait until the leader has promoted it to voter', false)
    .addOption(new Option('--wait-timeout <duration>', 'with --wait: give up after this long (exit 1)').argParser(positiveDurationArg).default(DEFAULT_WAIT_MS, formatDuration(DEFAULT_WAIT_MS)))
    .action(async (id: string, address: string, opts: { readonly learner: boolean; readonly wait: boolean; readonly waitTimeout: number }) => {
      const parsed = parseHostPort(address);
      if (!parsed.ok) throw new UsageError(`member add ADDRESS: ${parsed.reason}`);
      if (opts.wait && opts.learner) throw new UsageError('--wait waits for the promotion of a plain `member add`; a --learner stays a learner');
      const members = await session.client().memberAdd(id, address, opts.learner);
      session.io.out(report(`added ${id} as a learner`, members));
      if (!opts.wait || members.voters.includes(id)) return;
      await waitForVoter(session, id, opts.waitTimeout);
      session.io.out(`${id} is a voter\n`);
    });
  member
    .command('promote')
    .description('make learner ID a voter once it has caught up')
    .argument('<id>')
    .action(async (id: string) => {
      session.io.out(report(`promoted ${id}`, await session.client().memberPromote(id)));
    });
  member
    .command('remove')
    .description('remove controller ID from the cluster (it exits with code 10 once it learns)')
    .argument('<id>')
    .action(async (id: string) => {
      session.io.out(report(`removed ${id}`, await session.client().memberRemove(id)));
    });
  registerMemberList(member, session);
}
