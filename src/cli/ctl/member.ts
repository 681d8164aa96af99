/**
 * `ctl member add|promote|remove|list`: membership changes, one at a time, each safe to repeat
 * (a change already in effect exits 0 and says so; an id never in the cluster exits 4).
 */
import { Option, type Command } from 'commander';
import type { MembersJson } from '../../api/answers.js';
import { UsageError } from '../../api/errors.js';
import { parseHostPort } from '../../config/host-port.js';
import { formatDuration } from '../cell-format.js';
import { renderMembers } from '../output.js';
import { changeOutputOption, printChange, type ChangeFormat } from './change-output.js';
import { positiveDurationArg, type Session } from './context.js';
import { foreignClusterAt } from './member-address.js';
import { registerMemberList } from './member-list.js';
import { waitForVoter } from './member-wait.js';

export const DEFAULT_WAIT_MS = 5 * 60_000;

/** One line: what happened (or that nothing had to), what comes next, and the configuration. */
function report(done: string, m: MembersJson): string {
  const what = m.unchanged ? m.detail : m.detail === '' ? done : `${done}; ${m.detail}`;
  return `${what}; ${renderMembers(m)}\n`;
}

/** What `-o json` prints for a membership step: the text's facts, one object. */
function changeJson(id: string, m: MembersJson): Record<string, unknown> {
  return { id, changed: !m.unchanged, voters: m.voters, learners: m.learners, detail: m.detail };
}

/**
 * Whether anyone will promote learner `id` without an operator: it was added with the intent
 * (a plain `member add`), or `autopilot.promote_learners` is on.
 */
async function promotedByLeader(session: Session, autoPromote: boolean): Promise<boolean> {
  if (autoPromote) return true;
  const answer = await session.client().configGet('autopilot.promote_learners');
  return answer.settings.find((s) => s.key === 'autopilot.promote_learners')?.value === 'true';
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
    .addOption(changeOutputOption())
    .action(async (id: string, address: string, opts: { readonly learner: boolean; readonly wait: boolean; readonly waitTimeout: number; readonly output: ChangeFormat }) => {
      const parsed = parseHostPort(address);
      if (!parsed.ok) throw new UsageError(`member add ADDRESS: ${parsed.reason}`);
      if (opts.wait && opts.learner) throw new UsageError('--wait waits for the promotion of a plain `member add`; a --learner stays a learner');
      const foreign = await foreignClusterAt(session, address);
      if (foreign !== null) throw new UsageError(`member add: ${foreign}`);
      const members = await session.client().memberAdd(id, address, opts.learner);
      const waits = opts.wait && !members.voters.includes(id);
      // JSON is one object: with --wait, printed once the wait is over, with the configuration then.
      if (opts.output === 'text') session.io.out(report(`added ${id} as a learner`, members));
      else if (!waits) printChange(session, opts.output, '', changeJson(id, members));
      if (!waits) return;
      const after = await waitForVoter(
        {
          listMembers: () => session.operator().memberList(),
          promotedByLeader: (autoPromote) => promotedByLeader(session, autoPromote),
          now: () => session.io.now(),
          sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
          warn: (line) => session.io.err(line),
        },
        id,
        opts.waitTimeout,
      );
      printChange(session, opts.output, `${id} is a voter\n`, changeJson(id, { ...members, ...after }));
    });
  member
    .command('promote')
    .description('make learner ID a voter once it has caught up')
    .argument('<id>')
    .addOption(changeOutputOption())
    .action(async (id: string, opts: { readonly output: ChangeFormat }) => {
      const members = await session.client().memberPromote(id);
      printChange(session, opts.output, report(`promoted ${id}`, members), changeJson(id, members));
    });
  member
    .command('remove')
    .description('remove controller ID from the cluster (it exits with code 10 once it learns)')
    .argument('<id>')
    .addOption(changeOutputOption())
    .action(async (id: string, opts: { readonly output: ChangeFormat }) => {
      const members = await session.client().memberRemove(id);
      printChange(session, opts.output, report(`removed ${id}`, members), changeJson(id, members));
    });
  registerMemberList(member, session);
}
