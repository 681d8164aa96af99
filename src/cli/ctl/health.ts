/**
 * `ctl health [-o table|json]`: exit 0 only when the cluster is healthy as the leader sees it:
 * a leader, a quorum of healthy voters (online, heard from within
 * autopilot.last_contact_threshold, on the leader's term, within autopilot.max_trailing_logs),
 * and a commit index that moves. Any controller answers with the leader's view; a node that
 * knows no leader (cut off, say) answers unhealthy, so the other endpoints are asked for a
 * better view before judging.
 *
 * A server from before health in depth answers UNIMPLEMENTED: `ctl` then judges from
 * `list controllers` and the leader's status as it used to (a leader, a quorum of voters online,
 * a leader whose commit index moves).
 */
import * as grpc from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { fetchHealth, fetchHealthOn } from '../../api/autopilot-client.js';
import type { ControllerClient } from '../../api/client.js';
import type { StatusJson } from '../../api/answers.js';
import type { ControllersView } from '../../api/controller-rows.js';
import { ApiError } from '../../api/errors.js';
import type { HealthJson } from '../../api/health-wire.js';
import { HEALTH_FORMATS, renderHealth, type HealthFormat } from '../health-output.js';
import { OTHER_CLUSTER_FIX } from '../../identity/other-cluster-peers.js';
import type { Session } from './context.js';
import { mixedClusters, otherClusterPeers, statusRowsAt } from './endpoint.js';

export type HealthVerdict =
  | { readonly healthy: true; readonly summary: string }
  | { readonly healthy: false; readonly reason: string };

export class UnhealthyError extends Error {
  override readonly name = 'UnhealthyError';
  readonly code = 'UNHEALTHY';
}

/** The judgement from `list controllers` alone, for servers without the Health call. */
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

/**
 * The first answer that is healthy; else the first judged by a leader; else the first. An
 * unhealthy answer from a node without a leader says little while another endpoint may reach
 * one, so the endpoints are asked, all at once, before judging.
 */
export async function bestHealth(first: HealthJson, ask: (endpoint: string) => Promise<HealthJson>, endpoints: readonly string[]): Promise<HealthJson> {
  if (first.healthy) return first;
  const others = (await Promise.all(endpoints.map((endpoint) => ask(endpoint).catch(() => null)))).filter((h): h is HealthJson => h !== null);
  return others.find((h) => h.healthy) ?? [first, ...others].find((h) => h.leader !== null) ?? first;
}

function isUnimplemented(err: unknown): boolean {
  return err instanceof ApiError && err.grpcCode === grpc.status.UNIMPLEMENTED;
}

export function registerHealth(program: Command, session: Session): void {
  program
    .command('health')
    .description('exit 0 only when the leader sees a quorum of healthy voters and a commit index that moves')
    .addOption(new Option('-o, --output <format>', 'output format').choices(HEALTH_FORMATS).default('table'))
    .action(async (opts: { readonly output: HealthFormat }) => {
      const client = session.client();
      let health: HealthJson;
      try {
        health = await fetchHealth(client);
      } catch (err) {
        if (!isUnimplemented(err)) throw err;
        // The client returns the first view that is not stale, asking the endpoints in parallel.
        const view = await client.listControllers();
        const verdict = judgeCommitProgress(judgeHealth(view), await leaderStatus(client, view));
        if (!verdict.healthy) throw new UnhealthyError(`unhealthy: ${verdict.reason}`);
        session.io.out(`${verdict.summary}\n`);
        return;
      }
      health = await bestHealth(health, (endpoint) => fetchHealthOn(client, endpoint), session.endpoints());
      session.io.out(renderHealth(health, opts.output));
      if (!health.healthy) throw new UnhealthyError(`unhealthy: ${health.reason}`);
      // Each of two clusters under one cluster file calls itself healthy: the endpoints given
      // answer for different clusters, or one of them hears its peers answer for another.
      const rows = await statusRowsAt(session.operator(), session.endpoints());
      const mixed = rows.length < 2 ? null : mixedClusters(rows);
      if (mixed !== null) throw new UnhealthyError(`unhealthy: the endpoints belong to different clusters: ${mixed}; writes go to whichever answers first (a restore run on more than one member? docs/operate.md)`);
      const other = otherClusterPeers(rows);
      if (other !== null) throw new UnhealthyError(`unhealthy: ${other}: ${OTHER_CLUSTER_FIX}`);
    });
}
