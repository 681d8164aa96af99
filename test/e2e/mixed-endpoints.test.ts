/**
 * `ctl endpoint status` over endpoints of two different clusters (a staging host among
 * production ones) names which endpoint answers for which cluster and fails, instead of letting
 * ctl write to whichever answers first. So do `endpoint status --cluster` (whose member list
 * is one cluster's) and `ctl health`: two clusters under one cluster file (a restore run on every
 * member, attack round 10) each called itself healthy.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

interface Row {
  readonly endpoint: string;
  readonly cluster: string | null;
  readonly clusterId: string | null;
}

void t.test('endpoints of two clusters: each named with its cluster, exit 1', async (t) => {
  const [a, b] = await Promise.all([ProcessCluster.create({ nodes: 1, logLevel: 'info' }), ProcessCluster.create({ nodes: 1, logLevel: 'info' })]);
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  a.startAll();
  b.startAll();
  await Promise.all([a.waitForLeader(), b.waitForLeader()]);
  // The same file name (e2e), two clusters: their ids tell them apart once each has drawn one.
  const idOf = async (c: ProcessCluster): Promise<string> => {
    let id = '';
    await waitFor(async () => (id = (await c.status('c1'))?.clusterId ?? '') !== '', 'the cluster id drawn', 10000);
    return id;
  };
  const [idA, idB] = await Promise.all([idOf(a), idOf(b)]);
  t.not(idA, idB);

  const same = await a.ctl(['endpoint', 'status', '-o', 'json'], a.endpoints());
  t.equal(same.code, 0, same.stderr);
  t.match(JSON.parse(same.stdout), [{ cluster: 'e2e', clusterId: idA }], 'each row says the cluster it answers for');

  const mixed = `${a.endpoints()},${b.endpoints()}`;
  const run = await a.ctl(['endpoint', 'status', '-o', 'json'], mixed);
  t.equal(run.code, 1, 'exit 1');
  const rows = JSON.parse(run.stdout) as Row[];
  t.same(
    rows.map((r) => r.clusterId),
    [idA, idB],
    'the rows are printed, each with its cluster id',
  );
  t.equal(run.stderr.trim(), `ctl: the endpoints belong to different clusters: ${a.endpoints()} answer for cluster e2e (${idA}); ${b.endpoints()} answer for cluster e2e (${idB}); check --endpoints`);

  const cluster = await a.ctl(['endpoint', 'status', '--cluster', '-o', 'json'], mixed);
  t.equal(cluster.code, 1, '--cluster: exit 1 too');
  t.match(cluster.stderr, /the endpoints belong to different clusters/, "the other cluster's endpoint asked besides the members");

  const healthOne = await a.ctl(['health'], a.endpoints());
  t.equal(healthOne.code, 0, `one cluster is healthy (${healthOne.stderr.trim()})`);
  const health = await a.ctl(['health'], mixed);
  t.not(health.code, 0, 'health fails over two clusters');
  t.match(health.stderr, new RegExp(`unhealthy: the endpoints belong to different clusters: .*${idA}.*${idB}`));
});
