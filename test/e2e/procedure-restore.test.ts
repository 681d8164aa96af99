/**
 * Backup and restore on real processes, with docs/operate.md's restore procedure run word by
 * word (doc-procedure.ts): every write acknowledged before `ctl snapshot save` started is in
 * the restored cluster, the others join it, and it takes writes again.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { procedureSteps, ProcedureRunner } from '../helpers/doc-procedure.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { packageRoot } from '../../src/transport/proto.js';

const operate = fs.readFileSync(path.join(packageRoot(), 'docs/operate.md'), 'utf8');
const BACKUP = '/var/backups/controller/cluster.snap';

void t.test('snapshot save, the documented restore, and every acknowledged write is there', async (t) => {
  const steps = procedureSteps(operate, 'restore');
  t.ok(steps.length >= 10, `${steps.length} steps in the doc`);
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', extraYaml: 'autopilot:\n  server_stabilization_time: 1s\n', raft: { snapshotThreshold: 50 } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());

  // Writes acknowledged before the backup starts, past a snapshot threshold so the log is compacted too.
  const acknowledged = new Map<string, string>();
  for (let i = 0; i < 120; i++) {
    await client.put(`k/${i}`, `v${i}`);
    acknowledged.set(`k/${i}`, `v${i}`);
  }
  await client.delete('k/7');
  acknowledged.delete('k/7');
  const file = path.join(cluster.dir, 'cluster.snap');
  // Writes keep going while the snapshot is taken: those acknowledged before it started must be in it.
  let writing = true;
  const during = (async () => {
    for (let i = 0; writing; i++) await client.put(`during/${i}`, 'x').catch(() => null);
  })();
  const save = await cluster.ctl(['snapshot', 'save', file]);
  writing = false;
  await during;
  t.equal(save.code, 0, save.stderr);
  t.match(save.stdout, /^saved a snapshot of e2e to .*cluster\.snap: index \d+, term \d+, revision \d+/);
  client.close();

  // The disaster: every member's data is lost. The operator follows operate.md.
  const runner = new ProcedureRunner(cluster, { [BACKUP]: file });
  for (const step of steps) {
    const { result } = await cluster.explainFailure(runner.run(step));
    t.pass(`${step.host}: ${step.line}${result ? ` (exit ${result.code})` : ''}`);
    if (step.line.startsWith('controller restore')) t.match(result?.stdout, /c1 is the only member of a new cluster/);
  }

  const members = JSON.parse((await cluster.ctl(['member', 'list', '-o', 'json'])).stdout) as { id: string; role: string }[];
  t.strictSame(members.map((m) => `${m.id} ${m.role}`), ['c1 voter', 'c2 voter', 'c3 voter'], 'three voters again');
  for (const id of cluster.ids) {
    const each = cluster.client([id]);
    const range = await each.get('k/119', { serializable: false });
    t.equal(Buffer.from(range.value).toString(), 'v119', `${id} serves the restored state`);
    each.close();
  }
  const restored = cluster.client();
  t.teardown(() => restored.close());
  let missing = 0;
  for (const [key, value] of acknowledged) {
    const got = await restored.get(key).catch(() => null);
    if (got === null || Buffer.from(got.value).toString() !== value) missing += 1;
  }
  t.equal(missing, 0, `all ${acknowledged.size} writes acknowledged before the backup are there`);
  t.equal(await restored.get('k/7').catch((e: unknown) => (e as { code?: string }).code), 'NOT_FOUND', 'and the delete too');
  t.ok((await restored.put('after', 'restore')).revision > 0, 'the restored cluster takes writes');
  t.ok(fs.existsSync(path.join(cluster.dir, 'data', 'c1.old')), 'the old data was kept aside, as the doc says');
  const health = await cluster.ctl(['health']);
  t.equal(health.code, 0, `healthy: ${health.stderr}`);
  for (const id of cluster.ids) t.notMatch(cluster.dumpLogs(id), /OTHER_CLUSTER_PEER/, `${id} never took a peer for another cluster's: the procedure followed leaves one cluster`);
});
