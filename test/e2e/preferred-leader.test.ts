/**
 * The preferred leader on real processes: once `cluster.preferred_leader` is set, leadership
 * moves to that member; when it dies another leads, and when it comes back and has been
 * healthy for autopilot.server_stabilization_time, leadership returns to it.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { ctlHealth } from './autopilot-helpers.js';

void t.test('the preferred leader takes over, and again after a restart', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', extraYaml: 'autopilot:\n  server_stabilization_time: 1s\n' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const first = await cluster.waitForLeader();
  const preferred = cluster.ids.find((id) => id !== first)!;
  const set = await cluster.ctl(['config', 'set', 'cluster.preferred_leader', preferred]);
  t.equal(set.code, 0, set.stderr);
  await cluster.explainFailure(waitFor(async () => (await cluster.status(first))?.leader === preferred, `leadership to move to ${preferred}`, 30_000));
  t.equal(await cluster.waitForLeader(), preferred, `${preferred}, the preferred leader, leads`);
  const h = await ctlHealth(cluster);
  t.equal(h.health?.preferredLeader, preferred);
  t.equal(h.health?.preferredLeaderNote, `${preferred} leads`);

  await cluster.kill(preferred);
  const others = cluster.ids.filter((id) => id !== preferred);
  const interim = await cluster.waitForLeader(others);
  t.not(interim, preferred, `${interim} leads while ${preferred} is down`);

  cluster.start(preferred);
  await cluster.explainFailure(
    waitFor(async () => (await cluster.status(interim))?.leader === preferred, `leadership to return to ${preferred} after its restart`, 30_000),
  );
  t.equal(await cluster.waitForLeader(), preferred, 'the preferred leader leads again');
  const audit = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([interim]));
  const changes = audit.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; node: string; to: string })
    .filter((e) => e.type === 'leader.changed' && e.node === interim && e.to !== '');
  t.ok(changes.length <= 4, `${interim} saw ${changes.length} leaders: the first, the preferred, the interim, the preferred again (no ping-pong)`);
});
