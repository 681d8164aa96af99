/**
 * Real controllers: SIGSTOP and kill -9 of a follower and of the leader. Every surviving node
 * must report the truth in `list controllers` (reconciled status and the committed cluster
 * state), the audit trail must record the transitions, and a node cut off from the quorum must
 * flag its view as stale rather than present it as current.
 */
import t from 'tap';
import type { ControllerClient } from '../../src/api/client.js';
import type { ControllersView } from '../../src/api/controller-rows.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

interface Truth {
  readonly [id: string]: boolean;
}

/** Every node in `askers` reports exactly `truth` (online and clusterState), not stale. */
async function allReport(cluster: ProcessCluster, client: ControllerClient, askers: readonly string[], truth: Truth): Promise<boolean> {
  const views = await Promise.all(askers.map((id) => client.listControllersOn(cluster.addresses.get(id)!).catch(() => null)));
  return views.every((v) => v !== null && matches(v, truth));
}

function matches(v: ControllersView, truth: Truth): boolean {
  if (v.stale) return false;
  return Object.entries(truth).every(([id, online]) => {
    const row = v.controllers.find((c) => c.id === id);
    return row !== undefined && row.online === online && row.clusterState === (online ? 'online' : 'offline');
  });
}

async function auditOf(client: ControllerClient): Promise<string[]> {
  const lines: string[] = [];
  await client.audit({ sinceMs: 0, follow: false }, (e) => lines.push(`${e.type} ${e.subject ?? '-'} ${e.from ?? '-'}->${e.to ?? '-'}`));
  return lines;
}

void t.test('pause and kill of a follower and of the leader: every survivor reports the truth, and the audit says so', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', heartbeat: { baseTimeout: '1s', stateSyncInterval: '1s' } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  const ids = cluster.ids;
  await waitFor(() => allReport(cluster, client, ids, { c1: true, c2: true, c3: true }), 'every node to report all three online', 15000);
  t.pass('all three online, as seen from each of them');

  // A paused follower: offline for the others, then back.
  const follower = ids.find((id) => id !== leader)!;
  const others = ids.filter((id) => id !== follower);
  cluster.pause(follower);
  const down = Object.fromEntries(ids.map((id) => [id, id !== follower]));
  await waitFor(() => allReport(cluster, client, others, down), `${others.join(',')} to report the paused ${follower} offline`, 15000);
  t.pass(`the paused follower ${follower} is offline, locally and committed, on both others`);
  cluster.resume(follower);
  await waitFor(() => allReport(cluster, client, ids, { c1: true, c2: true, c3: true }), `all three to report ${follower} back online`, 15000);
  t.pass('after SIGCONT every node, the resumed one included, reports all online');

  const leaderAudit = await auditOf(cluster.client([leader]));
  t.ok(leaderAudit.includes(`member.status ${follower} online->offline`), `the leader audited ${follower} going offline`);
  t.ok(leaderAudit.includes(`member.status ${follower} offline->online`), `and coming back`, { audit: leaderAudit });

  // kill -9 of the leader: a new leader, and the old one offline everywhere that is left.
  t.equal(await cluster.kill(leader, 'SIGKILL'), null, 'the leader was killed');
  const survivors = ids.filter((id) => id !== leader);
  const next = await cluster.waitForLeader(survivors);
  t.not(next, leader, 'a survivor leads');
  const noLeader = Object.fromEntries(ids.map((id) => [id, id !== leader]));
  await waitFor(() => allReport(cluster, client, survivors, noLeader), `the survivors to report ${leader} offline`, 15000);
  t.pass(`the killed leader ${leader} is offline on both survivors`);
  const nextAudit = await auditOf(cluster.client([next]));
  t.ok(nextAudit.includes(`member.status ${leader} online->offline`), 'the new leader audited the old one going offline', { audit: nextAudit });
  t.ok(nextAudit.some((l) => l.startsWith(`leader.changed ${next} `)), 'and its own election');

  // Down to one node: it cannot reach a quorum and must say its view is stale.
  const [lonely, other] = survivors as [string, string];
  t.equal(await cluster.kill(other, 'SIGKILL'), null, `${other} was killed`);
  const alone = cluster.client([lonely]);
  t.teardown(() => alone.close());
  // Stale at once (no quorum contact for an election timeout); its own row turns offline
  // when the views of the dead peers expire (the view TTL, under the base timeout).
  const selfOffline = (v: ControllersView | null): boolean => v !== null && v.stale && v.controllers.find((c) => c.id === lonely)?.online === false;
  await waitFor(async () => selfOffline(await alone.listControllersOn(cluster.addresses.get(lonely)!).catch(() => null)), `${lonely} to flag its view stale and itself offline`, 15000);
  const view = await alone.listControllersOn(cluster.addresses.get(lonely)!);
  // Either reason is the truth: a follower counts the voters it heard; a leader not yet
  // stepped down by check-quorum (it checks once per election timeout) says when a quorum
  // last acknowledged it.
  const followerReason = `${lonely} has heard from 1 of \\d+ voters within the election timeout`;
  const leaderReason = `${lonely} leads term \\d+ but a quorum last acknowledged it`;
  t.match(view.staleReason, new RegExp(`^(${followerReason}|${leaderReason})`), 'with a reason');
  const ctl = await cluster.ctl(['list', 'controllers'], cluster.endpoints([lonely]));
  t.equal(ctl.code, 0, 'ctl still prints the table (better than nothing in an outage)');
  t.match(ctl.stderr, /stale/i, 'and warns on stderr that the view is stale');
});
