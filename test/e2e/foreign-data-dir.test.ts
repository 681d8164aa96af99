/**
 * Finding 2 of issue 10 on real processes: a node restarted on another cluster's data dir (same
 * file: same names, ids and ports, as with a wrong backup restored). Before, its longer foreign
 * log took over (reproduced: 100 of 100 acknowledged writes lost, 50 of 50 foreign keys
 * visible). Two clusters from identical files now get different ids, and the data dir is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';
import { raftDbPath } from '../../src/storage/paths.js';
import { ApiError } from '../../src/api/errors.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

/** The child's exit code; rejects if it still runs after `ms` (a start that did not refuse). */
const exitOf = (child: ChildProcess, ms = 30_000): Promise<number | null> =>
  new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} still runs ${ms} ms after its start: it did not refuse the data dir`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

/** Whether `key` holds a value: false only when the cluster answers NOT_FOUND; a failed read (a leader change on a loaded host) is asked again. */
const holds = async (c: ReturnType<ProcessCluster['client']>, key: string): Promise<boolean> => {
  let found: boolean | null = null;
  await waitFor(
    async () => {
      found = await c.get(key).then(
        () => true,
        (err: unknown) => (err instanceof ApiError && err.code === 'NOT_FOUND' ? false : null),
      );
      return found !== null;
    },
    `an answer for ${key}`,
    20000,
  );
  return found === true;
};

async function clusterIdIn(dataDir: string): Promise<string | null> {
  const storage = await LevelRaftStorage.open(raftDbPath(dataDir));
  try {
    return (await storage.loadIdentity())?.clusterId ?? null;
  } finally {
    await storage.close();
  }
}

void t.test('another cluster’s data dir is refused, naming both clusters, and nothing of either mixes', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  const data = (id: string): string => path.join(cluster.dir, 'data', id);
  const client = (): ReturnType<ProcessCluster['client']> => cluster.client();

  // Cluster B: the other one, with a longer log.
  cluster.startAll();
  await cluster.waitForLeader();
  let c = client();
  for (let i = 0; i < 150; i++) await c.put(`foreign${i}`, 'B');
  await waitFor(async () => (await c.listControllers()).controllers.every((r) => r.lagEntries === 0), 'B to settle', 10000);
  c.close();
  for (const id of cluster.ids) await cluster.kill(id, 'SIGTERM');
  const clusterB = await clusterIdIn(data('c2'));
  fs.cpSync(data('c2'), path.join(cluster.dir, 'b-c2'), { recursive: true });
  for (const id of cluster.ids) fs.rmSync(data(id), { recursive: true, force: true });

  // Cluster A, from the identical file.
  cluster.startAll();
  await cluster.waitForLeader();
  c = client();
  const keys: string[] = [];
  for (let i = 0; i < 100; i++) {
    await c.put(`k${i}`, 'A');
    keys.push(`k${i}`);
  }
  c.close();
  await cluster.kill('c2', 'SIGTERM');
  const clusterA = await clusterIdIn(data('c2'));
  t.ok(clusterA !== null && clusterB !== null && clusterA !== clusterB, `two clusters from one file have different ids (${clusterA}, ${clusterB})`);

  // A wrong backup restored: B's c2 data dir under A's c2.
  fs.rmSync(data('c2'), { recursive: true, force: true });
  fs.cpSync(path.join(cluster.dir, 'b-c2'), data('c2'), { recursive: true });
  cluster.logs.delete('c2');
  t.equal(await exitOf(cluster.start('c2')), 2, 'the node on the foreign data dir exits 2');
  t.match(cluster.dumpLogs('c2'), new RegExp(`belongs to cluster ${clusterB}, but its peers run cluster ${clusterA}`), 'naming both clusters');

  // With no peer to ask, it starts on it: the two clusters then refuse each other.
  for (const id of ['c1', 'c3']) await cluster.kill(id, 'SIGTERM');
  cluster.logs.delete('c2');
  const alone = cluster.start('c2');
  await waitFor(() => /controller started/.test(cluster.dumpLogs('c2')), 'c2 to start on the foreign dir, nobody answering', 20000);
  t.equal(alone.exitCode, null);
  cluster.start('c1');
  cluster.start('c3');
  const leader = await cluster.waitForLeader(['c1', 'c3']);
  t.ok(['c1', 'c3'].includes(leader), `cluster A elects ${leader} without c2`);
  c = cluster.client(['c1', 'c3']);
  t.teardown(() => c.close());
  let lost = 0;
  for (const k of keys) if (!(await holds(c, k))) lost++;
  t.equal(lost, 0, 'none of the 100 acknowledged writes of A is lost');
  let foreign = 0;
  for (let i = 0; i < 50; i++) if (await holds(c, `foreign${i}`)) foreign++;
  t.equal(foreign, 0, 'no key of B appears in A');
  await cluster.explainFailure(
    waitFor(async () => /"peer.refused".*CLUSTER_ID/.test((await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([leader]))).stdout), 'a CLUSTER_ID refusal in the audit trail', 20000),
  );
  t.pass('the refusal is audited');
});

void t.test('a data dir made for another member id is refused', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  await cluster.kill('c1', 'SIGTERM');
  await cluster.kill('c2', 'SIGTERM');
  const data = (id: string): string => path.join(cluster.dir, 'data', id);
  fs.rmSync(data('c1'), { recursive: true, force: true });
  fs.cpSync(data('c2'), data('c1'), { recursive: true });
  cluster.logs.delete('c1');
  t.equal(await exitOf(cluster.start('c1')), 2);
  t.match(cluster.dumpLogs('c1'), /WRONG_MEMBER.*belongs to member c2 \(incarnation [0-9a-f]{16}\), but this process was started as c1/);
});
