/**
 * `controller restore` refuses while the node it writes still runs, even once that node's data
 * dir was moved aside: the running LevelDB names its files by the path it opened, so it wrote
 * into the restored dir and deleted its MANIFEST, and neither copy started again (attack-34 H4).
 * The refusal names the cause and what to do; once the node is stopped the same restore works.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

void t.test('restore refuses a running node whose data dir was moved aside, and restores it once stopped', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.start('c1');
  await cluster.waitForLeader();
  const client = cluster.client();
  await client.put('k', 'before-restore');
  client.close();
  const file = path.join(cluster.dir, 'backup.snap');
  const save = await cluster.ctl(['snapshot', 'save', file]);
  t.equal(save.code, 0, save.stderr);

  const dataDir = path.join(cluster.dir, 'data', 'c1');
  const restore = (): ReturnType<typeof runToExit> =>
    runToExit(CONTROLLER_JS, ['restore', '--from', file, '--config', cluster.configFile, '--id', 'c1'], 'restore c1', 30_000);

  // In place: refused for the running node, before the data dir's emptiness is looked at.
  const inPlace = await restore();
  t.equal(inPlace.code, 2, inPlace.stderr);
  t.match(inPlace.stderr, /^controller restore: refusing to restore c1: its address \S+ \(gRPC\) is in use, so c1 \(or another program\) still runs; stop it and wait for it to exit/);

  // Moved aside while it runs, as the old non-empty refusal suggested: still refused, nothing written.
  fs.renameSync(dataDir, `${dataDir}.aside`);
  const aside = await restore();
  t.equal(aside.code, 2, aside.stderr);
  t.match(aside.stderr, /refusing to restore c1: its address \S+ \(gRPC\) is in use/);
  t.equal(aside.stderr.trim().split('\n').length, 1, 'one line');
  t.notOk(fs.existsSync(dataDir), 'no data dir was written for the running node to write into');

  // Stopped: its own dir back in place, the non-empty refusal says to stop it, then move it.
  t.equal(await cluster.kill('c1', 'SIGTERM'), 0, 'c1 stopped');
  fs.renameSync(`${dataDir}.aside`, dataDir);
  const notEmpty = await restore();
  t.equal(notEmpty.code, 2, notEmpty.stderr);
  t.match(notEmpty.stderr, /refusing to restore into \S+data\/c1: it is not empty; stop c1 if it runs, then move the dir aside \(or delete it\)/);

  fs.renameSync(dataDir, `${dataDir}.old`);
  const done = await restore();
  t.equal(done.code, 0, done.stderr);
  cluster.start('c1');
  await cluster.waitForLeader();
  const after = cluster.client();
  t.teardown(() => after.close());
  t.equal(Buffer.from((await after.get('k')).value).toString(), 'before-restore', 'the restored node starts and serves the snapshot');
});
