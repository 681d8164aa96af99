/**
 * Regression (found by the chaos harness, membership-churn seed 1009): a node re-added empty
 * installs the leader's snapshot; when that snapshot predates the current leader's own
 * re-addition, the joining node must still accept the leader's messages and catch up.
 */
import fs from 'node:fs';
import t from 'tap';
import { ApiError } from '../../src/api/errors.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a node restored from a snapshot older than its leader accepts that leader and catches up', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 4, logLevel: 'info', raft: { snapshotThreshold: 50, trailingLogs: 0 } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const a = cluster.client(['c1', 'c2', 'c3']);
  t.teardown(() => a.close());

  // 1. Remove c4 and wipe it; enough writes that every snapshot has members c1, c2, c3 only.
  await a.memberRemove('c4');
  await cluster.kill('c4');
  fs.rmSync(`${cluster.dir}/data/c4`, { recursive: true, force: true });
  for (let i = 0; i < 60; i++) await a.put(`k${i}`, `v${i}`);

  // 2. Re-add c4 empty, promote it, make it the leader.
  await a.memberAdd('c4', cluster.addresses.get('c4')!, true);
  cluster.start('c4', ['--join']);
  await waitFor(
    () =>
      a.memberPromote('c4').then(
        () => true,
        (err: unknown) => err instanceof ApiError && err.message.includes('already a voter'),
      ),
    'c4 to be promoted',
    60000,
  );
  const all = cluster.client();
  t.teardown(() => all.close());
  await waitFor(
    async () => {
      await all.leaderTransfer('c4').catch(() => null);
      return (await cluster.status('c4'))?.leader === 'c4';
    },
    'c4 to lead',
    60000,
  );

  // 3. Replace c3: it will install a snapshot taken before c4's re-addition... from c4.
  await all.memberRemove('c3');
  await cluster.kill('c3');
  fs.rmSync(`${cluster.dir}/data/c3`, { recursive: true, force: true });
  await all.memberAdd('c3', cluster.addresses.get('c3')!, true);
  cluster.start('c3', ['--join']);
  await cluster.explainFailure(
    waitFor(
      async () => {
        const [st, leader] = await Promise.all([cluster.status('c3'), cluster.status('c4')]);
        return st !== null && leader !== null && st.appliedIndex >= leader.commitIndex;
      },
      'c3 to catch up with the leader c4',
      60000,
    ),
  );
  t.pass('c3 caught up');
  const refused = (cluster.logs.get('c3') ?? []).join('').match(/refused peer RPC: unknown sender[^\n]*/)?.[0];
  t.equal(refused, undefined, 'and never refused its leader');
  const onC3 = cluster.client(['c3']);
  t.teardown(() => onC3.close());
  const got = await onC3.get('k59', { serializable: true });
  t.equal(Buffer.from(got.value).toString(), 'v59', 'it has the data');
});
