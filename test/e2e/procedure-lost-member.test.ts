/**
 * docs/operate.md's procedure for a lost member, run word by word (doc-procedure.ts): a member
 * whose data is gone is removed, added back empty with --join, promoted by the leader, and
 * holds every write acknowledged before and while it was gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { procedureSteps, ProcedureRunner } from '../helpers/doc-procedure.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { packageRoot } from '../../src/transport/proto.js';

const operate = fs.readFileSync(path.join(packageRoot(), 'docs/operate.md'), 'utf8');

void t.test('the documented lost-member procedure brings the member back as a voter with every write', async (t) => {
  const steps = procedureSteps(operate, 'lost-member');
  t.ok(steps.length >= 6, `${steps.length} steps in the doc`);
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', extraYaml: 'autopilot:\n  server_stabilization_time: 1s\n' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  for (let i = 0; i < 20; i++) await client.put(`before/${i}`, `v${i}`);
  // The disk of c3 (ctl-c) dies: the process is gone, its data is unusable.
  await cluster.kill('c3', 'SIGKILL');
  for (let i = 0; i < 20; i++) await client.put(`while/${i}`, `v${i}`);

  const runner = new ProcedureRunner(cluster);
  for (const step of steps) {
    const { result } = await cluster.explainFailure(runner.run(step));
    t.pass(`${step.host}: ${step.line}${result ? ` (exit ${result.code})` : ''}`);
    if (step.line.startsWith('ctl member add') && step.line.endsWith('--wait')) t.match(result?.stdout, /c3 is a voter|already a voter/);
  }

  const members = JSON.parse((await cluster.ctl(['member', 'list', '-o', 'json'])).stdout) as { id: string; role: string }[];
  t.match(members.find((m) => m.id === 'c3'), { role: 'voter' }, 'ctl-c is a voter again');
  t.ok(fs.existsSync(path.join(cluster.dir, 'data', 'c3.lost')), 'its old data was kept aside, as the doc says');
  const c3 = cluster.client(['c3']);
  t.teardown(() => c3.close());
  await waitFor(async () => (await c3.get('while/19', { serializable: true }).catch(() => null)) !== null, 'c3 to hold the latest write', 20000);
  for (const prefix of ['before', 'while']) {
    for (let i = 0; i < 20; i++) t.equal(Buffer.from((await c3.get(`${prefix}/${i}`, { serializable: true })).value).toString(), `v${i}`);
  }
});
