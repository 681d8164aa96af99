/**
 * Starting every initial member with `controller --config FILE --id ID` keeps creating the
 * cluster, also when one starts after the others elected a leader: it joins the running cluster
 * instead of writing a bootstrap entry of its own. And a member added with `ctl member add` and
 * started without --join joins as what the cluster says it is (a learner), not as a voter. A
 * member restarted with a file whose addresses disagree with the cluster's says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

// The first two cases share one cluster: the second needs only a running cluster to add a
// member to (it starts the member the first one killed); a cluster's start was a third of the
// file's CPU. The third keeps its own (it rewrites the members' addresses).
const shared = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
t.teardown(() => shared.stop());

void t.test('an initial member started after the others elected a leader joins their cluster', async (t) => {
  const cluster = shared;
  cluster.start('c1');
  cluster.start('c2');
  await cluster.waitForLeader(['c1', 'c2']);
  const client = cluster.client(['c1', 'c2']);
  t.teardown(() => client.close());
  for (let i = 0; i < 20; i++) await client.put(`k${i}`, `v${i}`);
  cluster.start('c3'); // no --join: the contract's command
  await waitFor(() => /start-up: join/.test(cluster.dumpLogs('c3')), 'c3 to decide to join', 20000);
  t.notMatch(cluster.dumpLogs('c3'), /bootstrapped a new cluster/, 'it wrote no bootstrap entry of its own');
  await cluster.explainFailure(
    waitFor(async () => (await cluster.client(['c3']).get('k19', { serializable: true }).catch(() => null)) !== null, 'c3 to catch up', 20000),
  );
  const st = await cluster.status('c3');
  t.same(st?.voters, ['c1', 'c2', 'c3'], 'it learned the initial voters from the log');
  // It votes like the others once the cluster recorded it: the cluster survives losing c1.
  await waitFor(async () => JSON.parse((await cluster.ctl(['list', 'controllers', '-o', 'json'])).stdout || '[]').length === 3, 'list controllers', 10000);
  const leader = await cluster.waitForLeader();
  await cluster.kill(leader);
  const next = await cluster.waitForLeader(cluster.ids.filter((id) => id !== leader));
  t.ok(next !== leader, `a new leader (${next}) with c3's vote counting`);
});

void t.test('a member added with ctl member add and started without --join joins as a learner', async (t) => {
  const cluster = shared;
  // Stopped when done: the third case runs with no other cluster beside it.
  t.teardown(() => shared.stop());
  for (const id of cluster.ids) if (!cluster.procs.has(id)) cluster.start(id);
  await cluster.waitForLeader();
  // The operator adds c4 to the shared file (as docs/deploy.md says), then to the cluster.
  const address = await cluster.addToFile('c4');
  const add = await cluster.ctl(['member', 'add', 'c4', address, '--learner'], cluster.endpoints(['c1', 'c2', 'c3']));
  t.equal(add.code, 0, add.stderr);
  cluster.start('c4'); // forgot --join
  await waitFor(async () => ((await cluster.status('c4'))?.learners ?? []).includes('c4'), 'c4 to learn from the log that it is a learner', 20000);
  const st = await cluster.status('c4');
  t.notOk(st?.voters.includes('c4'), 'c4 does not believe it is a voter');
  t.same(st?.voters, ['c1', 'c2', 'c3']);
  t.match(cluster.dumpLogs('c4'), /start-up: join/);
});

void t.test('a member restarted with a file that swaps two addresses warns, naming both, and rejoins', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  await cluster.kill('c3', 'SIGTERM');
  const [a1, a2] = [cluster.addresses.get('c1')!, cluster.addresses.get('c2')!];
  const file = fs.readFileSync(cluster.configFile, 'utf8');
  const swappedFile = path.join(path.dirname(cluster.configFile), 'swapped.yaml');
  fs.writeFileSync(swappedFile, file.replace(a1, 'A1').replace(a2, a1).replace('A1', a2));
  cluster.start('c3', [], swappedFile);
  // One warning per member, each a log line of its own (they may reach the pipe apart).
  const named = [
    new RegExp(`cluster\\.nodes lists c1 at ${a2.replace(/\./g, '\\.')} \\(the cluster's address of c2: addresses swapped\\?\\), but the cluster has c1 at ${a1.replace(/\./g, '\\.')}`),
    new RegExp(`cluster\\.nodes lists c2 at ${a1.replace(/\./g, '\\.')} \\(the cluster's address of c1: addresses swapped\\?\\), but the cluster has c2 at ${a2.replace(/\./g, '\\.')}`),
  ];
  await waitFor(() => named.every((re) => re.test(cluster.dumpLogs('c3'))), 'c3 to name both ends of the swap', 20000);
  t.ok(named.every((re) => re.test(cluster.dumpLogs('c3'))), 'c3 named both members and both addresses');
  // The cluster's addresses are what it dials: it follows the leader again.
  await cluster.explainFailure(waitFor(async () => Boolean((await cluster.status('c3'))?.leader), 'c3 to hear a leader', 20000));
  // Operator round 17: a file that leaves out a member removes nothing, and c3 says so at start.
  t.notMatch(cluster.dumpLogs('c3'), /MEMBER_NOT_IN_FILE/, 'a file that lists every member says nothing');
  await cluster.kill('c3', 'SIGTERM');
  const dropped = path.join(path.dirname(cluster.configFile), 'dropped.yaml');
  fs.writeFileSync(dropped, file.split('\n').filter((line) => !line.includes('id: c1,')).join('\n'));
  cluster.start('c3', [], dropped);
  const omitted = /"code":"MEMBER_NOT_IN_FILE".*cluster\.nodes does not list c1, a voter of the cluster .*it still votes and counts in every quorum \(3 voters, 2 needed\)\. If c1 is gone for good, remove it: ctl member remove c1/;
  await cluster.explainFailure(waitFor(() => omitted.test(cluster.dumpLogs('c3')), 'c3 to name c1, which its file leaves out', 20000));
  t.match(cluster.dumpLogs('c3'), omitted);
});
