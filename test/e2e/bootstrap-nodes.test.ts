/**
 * Initial members started from cluster files whose `cluster.nodes` disagree would write
 * different first log entries that Raft takes for one. On real processes: the second member
 * refuses to bootstrap (exit 2) naming the difference, the first says who asked with what, and
 * once the file is fixed the two create the cluster. Members that bootstrapped from different
 * files before either could ask the other (started together, or one while the other was down)
 * refuse each other's messages (CREATION_NODES) instead of forming one cluster that disagrees
 * about its voters.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

void t.test('a member whose cluster.nodes differs from a creating peer refuses to bootstrap, naming the difference', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.start('c1');
  await waitFor(() => /bootstrapped a new cluster/.test(cluster.dumpLogs('c1')), 'c1 to bootstrap alone', 20000);

  // c2's copy of the file lists c4 where the others list c3 (same address).
  const file = fs.readFileSync(cluster.configFile, 'utf8');
  t.match(file, /id: c3,/);
  const wrong = path.join(path.dirname(cluster.configFile), 'wrong.yaml');
  fs.writeFileSync(wrong, file.replace('id: c3,', 'id: c4,'));
  const refused = cluster.start('c2', [], wrong);
  t.equal(await exitOf(refused), 2, 'c2 exits 2');
  const differs = /cluster\.nodes differs from c1's, which creates the cluster from other nodes \(c4 only here; c3 only at c1\)/;
  // Its last lines may still be in the pipe when the exit is seen.
  await waitFor(() => differs.test(cluster.dumpLogs('c2')), "c2's refusal in its log", 10000);
  const said = cluster.dumpLogs('c2');
  t.match(said, differs, 'naming the difference');
  t.notMatch(said, /bootstrapped a new cluster/, 'c2 bootstrapped nothing');
  // c1 logged it before answering, but its log reaches us through a pipe of its own.
  const asked = /c2 asks to create the cluster from another cluster\.nodes than this node's \(c3 only here; c4 only at c2\)/;
  await waitFor(() => asked.test(cluster.dumpLogs('c1')), 'c1 to say who asked with what', 10000);
  t.match(cluster.dumpLogs('c1'), asked, 'c1 says who asked with what');

  // With the right file, c2 creates the cluster with c1.
  cluster.start('c2');
  const leader = await cluster.explainFailure(cluster.waitForLeader(['c1', 'c2']));
  t.ok(['c1', 'c2'].includes(leader), `${leader} leads`);
  t.same((await cluster.status('c2'))?.voters, ['c1', 'c2', 'c3']);
});

void t.test('members that bootstrapped from different files refuse each other, and the one with the wrong file rebuilt creates the cluster', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  const file = fs.readFileSync(cluster.configFile, 'utf8');
  const wrong = path.join(path.dirname(cluster.configFile), 'wrong.yaml');
  fs.writeFileSync(wrong, file.replace('id: c3,', 'id: c4,'));
  // Neither can ask the other at start: c2 bootstraps from the wrong file while c1 is down, then c1
  // while c2 is down. Hosts started in the same second reach the same state by a race.
  cluster.start('c2', [], wrong);
  await waitFor(() => /bootstrapped a new cluster/.test(cluster.dumpLogs('c2')), 'c2 to bootstrap alone', 20000);
  t.equal(await cluster.kill('c2', 'SIGTERM'), 0, 'c2 stops cleanly');
  cluster.start('c1');
  await waitFor(() => /bootstrapped a new cluster/.test(cluster.dumpLogs('c1')), 'c1 to bootstrap alone', 20000);
  cluster.start('c2', [], wrong);

  // Before, c1 voted c2 in as leader of the two voters c2's file names, and followed it while
  // counting three voters itself.
  const refusedBy = (who: string, of: string): RegExp => new RegExp(`refused a message from ${of}: ${of} bootstrapped from another cluster\\.nodes than ${who} \\(nodes digest [0-9a-f]{16} there, [0-9a-f]{16} here\\)`);
  await cluster.explainFailure(waitFor(() => refusedBy('c1', 'c2').test(cluster.dumpLogs('c1')), 'c1 to refuse c2', 20000));
  await cluster.explainFailure(waitFor(() => refusedBy('c2', 'c1').test(cluster.dumpLogs('c2')), 'c2 to refuse c1', 20000));
  const [s1, s2] = await Promise.all([cluster.status('c1'), cluster.status('c2')]);
  t.equal(s1?.leader ?? null, '', 'c1 follows no leader');
  t.equal(s2?.leader ?? null, '', 'c2 follows no leader');

  // What operate.md says to do: stop the member with the wrong file, move its data dir aside,
  // start it with the right one.
  t.equal(await cluster.kill('c2', 'SIGTERM'), 0, 'c2 stops cleanly');
  fs.renameSync(path.join(cluster.dir, 'data', 'c2'), path.join(cluster.dir, 'c2-wrong-file'));
  cluster.start('c2');
  const leader = await cluster.explainFailure(cluster.waitForLeader(['c1', 'c2']));
  t.ok(['c1', 'c2'].includes(leader), `${leader} leads`);
  t.same((await cluster.status('c2'))?.voters, ['c1', 'c2', 'c3']);
});
