/**
 * `ctl member add --wait`: poll the member list until a learner is a voter, or the time is up.
 *
 * The wait outlives blips: while a new member catches up the cluster may elect a leader, or a
 * member stall long enough that every endpoint answers "cut off from a quorum". Such an answer
 * says nothing about the promotion, so the wait goes on until `--wait-timeout` (as etcd's
 * and Consul's waits do) instead of exiting 1 at the first one.
 */
import type { MembersJson } from '../../api/answers.js';
import { ApiError, type ClientErrorCode } from '../../api/errors.js';
import type { MemberListJson } from '../../api/operator-answers.js';
import { formatDuration } from '../cell-format.js';

/** Answers that may clear by themselves: no leader or quorum right now, or no endpoint reached. */
const PASSING: ReadonlySet<ClientErrorCode> = new Set(['NO_QUORUM', 'NO_LEADER', 'NOT_LEADER', 'SHUTTING_DOWN', 'TIMEOUT', 'UNREACHABLE']);

export function isPassingFailure(err: unknown): err is ApiError {
  return err instanceof ApiError && PASSING.has(err.code);
}

export interface VoterWaitDeps {
  readonly listMembers: () => Promise<MemberListJson>;
  /** Whether the leader will promote the learner without an operator. */
  readonly promotedByLeader: (autoPromote: boolean) => Promise<boolean>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** One line on stderr. */
  readonly warn: (line: string) => void;
}

export const WAIT_POLL_MS = 500;

/** Polls the member list until `id` is a voter or the time is up; the configuration then. */
export async function waitForVoter(deps: VoterWaitDeps, id: string, timeoutMs: number): Promise<Pick<MembersJson, 'voters' | 'learners'>> {
  const deadline = deps.now() + timeoutMs;
  let failing: ApiError | undefined;
  for (;;) {
    let list: MemberListJson | undefined;
    try {
      list = await deps.listMembers();
    } catch (err) {
      if (!isPassingFailure(err)) throw err;
      if (failing === undefined) deps.warn(`warning: cannot read the member list now (${err.message}); still waiting for ${id}'s promotion`);
      failing = err;
    }
    if (list !== undefined) {
      failing = undefined;
      const m = list.members.find((x) => x.id === id);
      if (m === undefined) throw new ApiError('UNKNOWN_NODE', `${id} is no longer a member (removed while waiting)`);
      if (m.role === 'voter') {
        const ids = (role: string): string[] => list.members.filter((x) => x.role === role).map((x) => x.id);
        return { voters: ids('voter'), learners: ids('learner') };
      }
      // A learner added with --learner waits for an operator: there is nothing to wait for.
      if (!(await deps.promotedByLeader(m.autoPromote))) {
        throw new ApiError(
          'FAILED_PRECONDITION',
          `${id} was added with --learner and autopilot.promote_learners is off, so only \`ctl member promote ${id}\` makes it a voter: --wait has nothing to wait for`,
        );
      }
      if (deps.now() >= deadline) {
        const why = m.status === 'online' ? 'the leader\'s log says why (`learner ' + id + ': ...`)' : 'is it running with --join?';
        throw new ApiError('TIMEOUT', `${id} is still a learner after ${formatDuration(timeoutMs)}, ${m.status}: ${why} (see \`ctl member list\`)`);
      }
    } else if (failing !== undefined && deps.now() >= deadline) {
      throw new ApiError('TIMEOUT', `${id} is not known to be a voter after ${formatDuration(timeoutMs)}: the member list could not be read (${failing.message}); run the same command again to go on waiting`);
    }
    await deps.sleep(WAIT_POLL_MS);
  }
}
