/**
 * attack round 10 (B2): one ControllerClient with many writes in flight at once. The cluster
 * keeps one latest seq per client id, and writes of one id overtaking each other (large values
 * through a follower) were refused as "older than its latest", 10-25% of them with no fault at
 * all. Every write must now succeed and be readable.
 */
import t from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { ProcessCluster } from '../helpers/process-cluster.js';

const WRITES = 40;
const VALUE_BYTES = 100 * 1024;

void t.test(`${WRITES} puts of ${VALUE_BYTES / 1024} KiB in flight at once on one client, through a follower: all applied`, async (t) => {
  // Election timing a loaded CI host keeps: 40 writes of 100 KiB at once are real load on 2 cores.
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', raft: { heartbeatInterval: '100ms', electionTimeout: '2s' } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const follower = cluster.ids.find((id) => id !== leader)!;
  const client = new ControllerClient({ endpoints: cluster.endpoints([follower]).split(','), timeoutMs: 20000 });
  t.teardown(() => client.close());
  // Sizes differ so the larger messages are the slower ones and later writes overtake earlier.
  const values = Array.from({ length: WRITES }, (_, i) => Buffer.alloc(VALUE_BYTES - (i % 4) * 24 * 1024, 97 + (i % 26)));
  const outcomes = await Promise.allSettled(values.map((v, i) => client.put(`k${i}`, v)));
  const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`k${i}: ${(o.reason as Error).message}`] : []));
  t.same(refused, [], 'no write refused');
  const check = new ControllerClient({ endpoints: cluster.endpoints([leader]).split(','), timeoutMs: 20000 });
  t.teardown(() => check.close());
  for (const [i, v] of values.entries()) {
    const got = await check.get(`k${i}`);
    if (!Buffer.from(got.value).equals(v)) t.fail(`k${i} holds another value`);
  }
  t.pass('each key holds what was written');
});
