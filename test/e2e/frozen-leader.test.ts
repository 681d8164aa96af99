/**
 * A write sent to a follower while the leader is frozen (SIGSTOP: its connections stay open and
 * silent) is not held on the frozen leader until the client's deadline: the follower gives up on
 * that leader after two election timeouts, and forwards to the one elected meanwhile.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';

void t.test('a put through a follower completes on the new leader while the old one is frozen', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', raft: { heartbeatInterval: '100ms', electionTimeout: '1s' } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [follower] = cluster.ids.filter((id) => id !== leader);
  // The follower's forwarding link to the leader is warm, as in a running cluster.
  const warm = await cluster.ctl(['kv', 'put', 'before', '1'], cluster.endpoints([follower!]));
  t.equal(warm.code, 0, warm.stderr);

  cluster.pause(leader);
  t.teardown(() => cluster.resume(leader));
  // Only the follower is asked, with 8 s: without the budget its forward would wait on the frozen leader for all of them.
  const put = await cluster.ctl(['--timeout', '8s', 'kv', 'put', 'during', '2'], cluster.endpoints([follower!]), 20_000);
  t.equal(put.code, 0, `the put succeeded through ${follower}: ${put.stderr}`);
  const others = cluster.ids.filter((id) => id !== leader);
  const now = await cluster.waitForLeader(others);
  t.not(now, leader, 'a new leader was elected meanwhile');
  const get = await cluster.ctl(['kv', 'get', 'during'], cluster.endpoints(others));
  t.equal(get.stdout.trim(), '2', 'and holds the write');
});
