/**
 * Every initial member of a new cluster started with --join: none bootstraps, so none is ever
 * replicated to. Round 15 warned the members started after the first (they hear it answer
 * with an empty log); the first, which heard no one, said nothing, at its start or after.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('the first member of an all---join start is warned at start, and again once the others answer as joiners', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', raft: { electionTimeout: '300ms' } });
  t.teardown(() => cluster.stop());
  cluster.start('c1', ['--join']);
  await waitFor(() => /joining: starting empty/.test(cluster.dumpLogs('c1')), 'c1 to start joining', 20000);
  await waitFor(() => /--join: no peer answered \(c2, c3\): this node waits, empty/.test(cluster.dumpLogs('c1')), 'c1 warned at start: no peer answered', 5000);
  cluster.start('c2', ['--join']);
  cluster.start('c3', ['--join']);
  await waitFor(() => /JOIN_WAITS[^\n]*no peer runs a cluster or is creating one/.test(cluster.dumpLogs('c1')), "c1's warning once c2 and c3 answer as joiners", 30000);
  t.match(cluster.dumpLogs('c1'), /no peer runs a cluster or is creating one \([^)]*answered with an empty log, as joiners do/);
});
