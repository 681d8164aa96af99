/**
 * `ctl health`: exit 0 only when a leader exists and a quorum of voters is online. A view from
 * a node that cannot reach a quorum says little about the cluster, so the other endpoints are
 * asked for a fresh view before judging.
 */
import type { Command } from 'commander';
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

export function registerHealth(program: Command, session: Session): void {
  program
    .command('health')
    .description('exit 0 only when a leader exists and a quorum of voters is online')
    .action(async () => {
      // The client returns the first view that is not stale, asking the endpoints in parallel.
      const verdict = judgeHealth(await session.client().listControllers());
      if (!verdict.healthy) throw new UnhealthyError(`unhealthy: ${verdict.reason}`);
      session.io.out(`${verdict.summary}\n`);
    });
}
