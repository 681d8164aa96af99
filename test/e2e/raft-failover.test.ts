/**
 * Three real controllers on loopback: kill -9 of the leader, a new leader takes over, no
 * acknowledged write is lost, and the killed node catches up after restart (through a
 * snapshot when it fell behind the compacted log).
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('kill -9 of the leader loses no acknowledged write; the node catches up via snapshot', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, raft: { snapshotThreshold: 40, trailingLogs: 5 } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const first = await cluster.waitForLeader();

  const acknowledged = new Map<string, string>();
  for (let i = 0; i < 10; i++) {
    const r = await cluster.ctl(['kv', 'put', `k${i}`, `v${i}`]);
    t.equal(r.code, 0, `put k${i} succeeds: ${r.stderr}`);
    acknowledged.set(`k${i}`, `v${i}`);
  }

  t.equal(await cluster.kill(first, 'SIGKILL'), null, 'the leader was killed by signal');
  const survivors = cluster.ids.filter((id) => id !== first);
  const second = await cluster.waitForLeader(survivors);
  t.not(second, first, 'a different node leads');

  // Enough writes while the old leader is down to pass the snapshot threshold twice; through
  // the client library, since a process per write would make this test slow.
  const client = cluster.client(survivors);
  t.teardown(() => client.close());
  for (let i = 10; i < 100; i++) {
    await client.put(`k${i}`, `v${i}`);
    acknowledged.set(`k${i}`, `v${i}`);
  }
  const leaderStatus = await cluster.status(second);
  t.ok(leaderStatus && leaderStatus.snapshotIndex > 0, 'the leader took a snapshot and compacted its log');

  cluster.start(first);
  await waitFor(async () => {
    const [a, b] = await Promise.all([cluster.status(first), cluster.status(second)]);
    return a !== null && b !== null && a.appliedIndex >= b.commitIndex && a.leader === b.leader;
  }, `${first} to catch up after restart`, 30000);
  const restarted = await cluster.status(first);
  t.ok(restarted && restarted.snapshotIndex > 0, 'the restarted node installed a snapshot');

  // Serializable reads answer from the restarted node's own state, which is what must be whole.
  const onRestarted = cluster.client([first]);
  t.teardown(() => onRestarted.close());
  const missing: string[] = [];
  for (const [k, v] of acknowledged) {
    const got = await onRestarted.get(k, { serializable: true }).catch(() => null);
    const value = got === null ? '(none)' : Buffer.from(got.value).toString('utf8');
    if (value !== v) missing.push(`${k}=${value}`);
  }
  t.same(missing, [], `all ${acknowledged.size} acknowledged writes are on the restarted node`);
  const r = await cluster.ctl(['kv', 'get', 'k99', '-o', 'json'], cluster.endpoints([first]));
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { key: 'k99', value: 'v99' }, 'a linearizable ctl read through the restarted node agrees');
});

void t.test('a restarted cluster recovers every write from its data directories', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3 });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const put = await cluster.ctl(['kv', 'put', 'durable', 'yes']);
  t.equal(put.code, 0, put.stderr);
  for (const id of cluster.ids) t.equal(await cluster.kill(id, 'SIGKILL'), null, `${id} killed`);
  cluster.startAll();
  await cluster.waitForLeader();
  const get = await cluster.ctl(['kv', 'get', 'durable']);
  t.equal(get.code, 0, get.stderr);
  t.equal(get.stdout.trim(), 'yes', 'the write survived killing every node');
});
