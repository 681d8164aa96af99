/** `ctl member add --wait`: it waits out a cluster that cannot answer for a moment, up to its timeout. */
import t from 'tap';
import { ApiError } from '../../src/api/errors.js';
import type { MemberListJson } from '../../src/api/operator-answers.js';
import type { MemberInfo } from '../../src/api/operator-proto.js';
import { waitForVoter, WAIT_POLL_MS, type VoterWaitDeps } from '../../src/cli/ctl/member-wait.js';

const member = (id: string, role: MemberInfo['role']): MemberInfo => ({ id, address: `127.0.0.1:${7100 + Number(id.slice(1))}`, role, status: 'online', autoPromote: role === 'learner', leader: id === 'c1', duplicateProcess: false });
const list = (c4: MemberInfo['role']): MemberListJson => ({ members: [member('c1', 'voter'), member('c2', 'voter'), member('c4', c4)], answeredBy: 'c1', leader: 'c1', revision: 1, removed: [] });
const noQuorum = (): ApiError => new ApiError('NO_QUORUM', 'c2 is cut off from a quorum: c2 resumed 53ms ago from a stall of 3319ms');

/** A mocked clock that each sleep moves on, and answers taken in turn (the last repeats). */
function deps(answers: readonly (MemberListJson | ApiError)[]): VoterWaitDeps & { readonly warnings: string[]; readonly asked: () => number } {
  let clock = 0;
  let asked = 0;
  const warnings: string[] = [];
  return {
    listMembers: async () => {
      const a = answers[Math.min(asked++, answers.length - 1)]!;
      if (a instanceof ApiError) throw a;
      return a;
    },
    promotedByLeader: async () => true,
    now: () => clock,
    sleep: async (ms) => void (clock += ms),
    warn: (line) => void warnings.push(line),
    warnings,
    asked: () => asked,
  };
}

void t.test('a member list refused for want of a quorum does not end the wait: the promotion is waited for', async (t) => {
  const d = deps([list('learner'), noQuorum(), noQuorum(), list('learner'), list('voter')]);
  const after = await waitForVoter(d, 'c4', 60_000);
  t.strictSame(after, { voters: ['c1', 'c2', 'c4'], learners: [] });
  t.equal(d.asked(), 5);
  t.equal(d.warnings.length, 1, 'one warning for the streak of failures, not one per poll');
  t.match(d.warnings[0], /^warning: cannot read the member list now \(c2 is cut off from a quorum: .*\); still waiting for c4's promotion$/);
});

void t.test('failures that last past the timeout end it with exit 1 (TIMEOUT), naming the last cause', async (t) => {
  const d = deps([noQuorum()]);
  const err = await waitForVoter(d, 'c4', 5_000).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, ApiError);
  t.equal((err as ApiError).code, 'TIMEOUT');
  t.match((err as ApiError).message, /c4 is not known to be a voter after 5s: the member list could not be read \(c2 is cut off from a quorum: .*\); run the same command again/);
  t.equal(d.asked(), 5_000 / WAIT_POLL_MS + 1, 'polled until the deadline');
});

void t.test('a failure that says the wait is wrong still ends it at once', async (t) => {
  const d = deps([new ApiError('INVALID_ARGUMENT', 'bad request')]);
  await t.rejects(waitForVoter(d, 'c4', 60_000), { code: 'INVALID_ARGUMENT' });
  t.equal(d.asked(), 1);
  const removed = deps([{ ...list('learner'), members: list('learner').members.filter((m) => m.id !== 'c4') }]);
  await t.rejects(waitForVoter(removed, 'c4', 60_000), { code: 'UNKNOWN_NODE', message: /c4 is no longer a member/ });
});

void t.test('a learner still catching up at the deadline times out as before', async (t) => {
  const d = deps([list('learner')]);
  await t.rejects(waitForVoter(d, 'c4', 2_000), { code: 'TIMEOUT', message: /c4 is still a learner after 2s, online/ });
});
