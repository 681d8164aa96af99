/**
 * attack round 10 (B3): `ctl member add` with a typo in the address, then the node started with
 * --join at its real address, waited for ever and said nothing (the leader replicates to the
 * address it recorded). The start-up answer now carries the recorded address, and the joiner
 * warns at once, naming both addresses and the fix.
 */
import t from 'tap';
import { freePorts } from '../helpers/free-ports.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a joiner the cluster records at another address says so at start, with the fix', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const three = cluster.endpoints(['c1', 'c2', 'c3']);
  const address = await cluster.addToFile('c4');
  const [typo] = await freePorts(1);
  const wrong = `127.0.0.1:${typo}`;
  t.equal((await cluster.ctl(['member', 'add', 'c4', wrong, '--learner'], three)).code, 0, 'the add with the typo is taken');
  cluster.start('c4', ['--join']);
  await waitFor(() => /joining: starting empty/.test(cluster.dumpLogs('c4')), 'c4 to decide to join', 20000);
  // The warning is logged right after the decision; wait for the line, then read it.
  await waitFor(() => cluster.dumpLogs('c4').includes('the cluster has c4 at'), "c4's warning about its address", 10000);
  const said = cluster.dumpLogs('c4');
  t.ok(said.includes(`the cluster has c4 at ${wrong}, but this node's address is ${address}`), 'both addresses named');
  t.ok(said.includes(`ctl member remove c4; ctl member add c4 ${address} --learner`), 'and the fix');
});
