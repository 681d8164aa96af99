/**
 * Two hosts of a new cluster started at the same moment with different cluster.nodes (the
 * independent test's F3): neither is listening while the other asks its start-up question, so
 * both bootstrap from their own file (or, a moment later, the second is refused at start as
before). Each asks again until the cluster has an id; the first to
 * ask learns the other creates it from other nodes and stops, exit 2, NODES_DIFFER, and the other
 * logs who asked with what (both stop when they ask at the same moment). The election timeout is
 * long here so that no leader comes first: with one, the check can come too late (operate.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('two hosts started together from different files: one stops with NODES_DIFFER, the other names it', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, raft: { heartbeatInterval: '500ms', electionTimeout: '5s' } });
  t.teardown(() => cluster.stop());
  const full = fs.readFileSync(cluster.configFile, 'utf8');
  const c3 = cluster.addresses.get('c3')!;
  // The same file without c3: drop its line from cluster.nodes.
  const two = full
    .split('\n')
    .filter((line) => !line.includes(`"${c3}"`))
    .join('\n');
  t.not(two, full, 'the second file lists two nodes');
  const twoFile = path.join(cluster.dir, 'two.yaml');
  fs.writeFileSync(twoFile, two);
  const exits = new Map<string, number | null>();
  for (const [id, file] of [
    ['c1', cluster.configFile],
    ['c2', twoFile],
  ] as const) {
    cluster.start(id, [], file).on('exit', (code) => exits.set(id, code));
  }
  await cluster.explainFailure(waitFor(() => exits.size > 0, 'one of the two to stop', 30_000));
  for (const [id, code] of exits) {
    t.comment(`${id}: ${/controller: stopping/.test(cluster.dumpLogs(id)) ? 'stopped by the check after bootstrapping' : 'refused at start'}`);
    t.equal(code, 2, `${id} exits 2`);
    // Stopped by the check after bootstrapping, or refused at start when the other was already listening.
    t.match(cluster.dumpLogs(id), /controller: (stopping|refusing to start) \(NODES_DIFFER\): cluster\.nodes differs from c[12]'s, which (also bootstrapped the new cluster, from|creates the cluster from) other nodes \(c3 only (here|at c1)\)/, `${id} says why`);
  }
  for (const id of ['c1', 'c2'].filter((i) => !exits.has(i))) {
    t.match(cluster.dumpLogs(id), /asks to create the cluster from another cluster\.nodes than this node's/, `${id}, still running, names the other's file`);
  }
});
