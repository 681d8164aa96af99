/**
 * `ctl health`: exit 0 only when a leader exists, a quorum of voters is online, and the leader's
 * commit index moves while entries wait (a leader stuck behind an entry it cannot replicate is
 * not healthy). A view from a node that cannot reach a quorum says little about the cluster, so
 * the other endpoints are asked for a fresh view before judging.
 */
import type { Command } from 'commander';
import type { ControllerClient } from '../../api/client.js';
import type { StatusJson } from '../../api/answers.js';
import type { ControllersView } from '../../api/controller-rows.js';
import type { Session } from './context.js';

export type HealthVerdict =
  | { readonly healthy: true; readonly summary: string }
  | { readonly healthy: false; readonly reason: string };

export class UnhealthyError extends Error {
  override readonly name = 'UnhealthyError';
  readonly code = 'UNHEALTHY';
}

export function judgeHealth(view: ControllersView): HealthVerdict {
  if (view.stale) {
    const reason = view.staleReason === '' ? '' : ` (${view.staleReason})`;
    return { healthy: false, reason: `${view.answeredBy || 'the answering controller'} cannot reach a quorum${reason}` };
  }
  const voters = view.controllers.filter((c) => c.voter);
  if (voters.length === 0) return { healthy: false, reason: 'expected at least one voter, found none in the membership' };
  const online = voters.filter((c) => c.online);
  const quorum = Math.floor(voters.length / 2) + 1;
  const counts = `${online.length} of ${voters.length} voters online`;
  if (online.length < quorum) {
    const offline = voters.filter((c) => !c.online).map((c) => c.id);
    return { healthy: false, reason: `no quorum: ${counts}, need ${quorum} (offline: ${offline.join(', ')})` };
  }
  const leaders = view.controllers.filter((c) => c.leader);
  const leader = leaders[0];
  if (leader === undefined) return { healthy: false, reason: `no leader (${counts})` };
  if (leaders.length > 1) {
    return { healthy: false, reason: `expected one leader, found ${leaders.length}: ${leaders.map((c) => c.id).join(', ')}` };
  }
  if (!leader.online) return { healthy: false, reason: `leader ${leader.id} is offline (${counts})` };
  return { healthy: true, summary: `healthy: leader ${leader.id}, ${counts}` };
}

/** The leader's own account of its commit progress turns a healthy verdict unhealthy when stuck. */
export function judgeCommitProgress(verdict: HealthVerdict, leader: StatusJson | null): HealthVerdict {
  if (!verdict.healthy || leader === null || !leader.commitStalled) return verdict;
  return {
    healthy: false,
    reason: `leader ${leader.id}'s commit index (${leader.commitIndex}) has not moved for ${leader.commitStallMs}ms while entries up to ${leader.lastIndex} wait`,
  };
}

/** The leader's status, asked at its own address; null when it does not answer. */
async function leaderStatus(client: ControllerClient, view: ControllersView): Promise<StatusJson | null> {
  const leader = view.controllers.find((c) => c.leader);
  if (leader === undefined || leader.address === '') return null;
  try {
    const st = await client.statusOn(leader.address);
    return st.id === leader.id ? st : null;
  } catch {
    // Not reachable from here while the cluster hears from it: judge by the view alone.
    return null;
  }
}

export function registerHealth(program: Command, session: Session): void {
  program
    .command('health')
    .description('exit 0 only when a leader exists, a quorum of voters is online and the leader commits')
    .action(async () => {
      const client = session.client();
      // The client returns the first view that is not stale, asking the endpoints in parallel.
      const view = await client.listControllers();
      const verdict = judgeCommitProgress(judgeHealth(view), await leaderStatus(client, view));
      if (!verdict.healthy) throw new UnhealthyError(`unhealthy: ${verdict.reason}`);
      session.io.out(`${verdict.summary}\n`);
    });
}
