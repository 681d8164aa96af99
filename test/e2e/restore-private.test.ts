/**
 * `controller restore` and `controller recover` leave a data dir only its owner can read: no
 * group or other bit on the dir, its subdirectories or any file. A restored data dir was 0755
 * with 0644 LevelDB files, replacing even an empty 0700 dir the operator had prepared, so any
 * local user read the restored values until the first start (attack-33 G4). And `ctl snapshot
 * save` refuses a path inside a live member's data dir (G8).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

/** Every path under `root` (itself included) with a group or other permission bit, as "mode path". */
function openToOthers(root: string): string[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    if ((st.mode & 0o077) !== 0) found.push(`${(st.mode & 0o777).toString(8)} ${path.relative(root, p) || '.'}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(root);
  return found;
}

function countEntries(root: string): number {
  let n = 0;
  const walk = (p: string): void => {
    n++;
    if (fs.lstatSync(p).isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(root);
  return n;
}

void t.test('restore into a prepared 0700 dir, then recover a loosened one: nothing is left readable by others', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.start('c1');
  await cluster.waitForLeader();
  const client = cluster.client();
  await client.put('secret', 'hunter2-RESTORE');
  client.close();
  const file = path.join(cluster.dir, 'backup.snap');
  const save = await cluster.ctl(['snapshot', 'save', file]);
  t.equal(save.code, 0, save.stderr);
  // A save aimed into the live member's data dir is refused (attack-33 G8: it replaced raft/CURRENT).
  const current = path.join(cluster.dir, 'data', 'c1', 'raft', 'CURRENT');
  const before = fs.readFileSync(current);
  const intoDataDir = await cluster.ctl(['snapshot', 'save', current]);
  t.equal(intoDataDir.code, 2, intoDataDir.stderr);
  t.match(intoDataDir.stderr, /is inside .*data\/c1, a controller's data dir: replacing or adding a file there can keep a controller from starting/);
  t.ok(fs.readFileSync(current).equals(before), "the member's CURRENT is untouched");
  await cluster.kill('c1', 'SIGTERM');

  const dataDir = path.join(cluster.dir, 'data', 'c1');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { mode: 0o700 });
  // What a restore interrupted by Ctrl-C left beside the data dir: a copy of the state under the pid of a process gone since.
  const gonePid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const leftover = `${dataDir}.restoring-${gonePid}`;
  fs.mkdirSync(path.join(leftover, 'raft'), { recursive: true });
  fs.writeFileSync(path.join(leftover, 'raft', '000005.ldb'), 'hunter2-RESTORE');
  const restore = await runToExit(CONTROLLER_JS, ['restore', '--from', file, '--config', cluster.configFile, '--id', 'c1'], 'restore c1', 30_000);
  t.equal(restore.code, 0, restore.stderr);
  t.notOk(fs.existsSync(leftover), 'the copy an interrupted restore left is removed');
  t.match(restore.stderr, `removed ${leftover}, left by an interrupted restore`);
  t.ok(countEntries(dataDir) > 5, `the restored dir holds ${countEntries(dataDir)} entries`);
  t.strictSame(openToOthers(dataDir), [], 'restored: the dir, its subdirectories and files are the owner\'s alone');

  // A data dir from before the controller kept it private: recover tightens what it rewrites.
  // It rewrites only when it changes the configuration (a run that would change nothing writes
  // nothing): a learner added and never started is one for it to remove.
  cluster.start('c1');
  await cluster.waitForLeader();
  const added = await cluster.ctl(['member', 'add', 'c2', '127.0.0.1:1', '--learner']);
  t.equal(added.code, 0, added.stderr);
  await cluster.kill('c1', 'SIGTERM');
  fs.chmodSync(dataDir, 0o755);
  fs.chmodSync(path.join(dataDir, 'raft'), 0o755);
  for (const name of fs.readdirSync(path.join(dataDir, 'raft'))) fs.chmodSync(path.join(dataDir, 'raft', name), 0o644);
  const recover = await runToExit(CONTROLLER_JS, ['recover', '--config', cluster.configFile, '--id', 'c1', '--members', 'c1', '--force'], 'recover c1', 30_000);
  t.equal(recover.code, 0, recover.stderr);
  t.notMatch(recover.stdout, /nothing changed/, 'recover removed the learner, so it rewrote the database');
  t.strictSame(openToOthers(path.join(dataDir, 'raft')), [], 'recovered: the Raft database is the owner\'s alone');

  cluster.start('c1');
  await cluster.waitForLeader();
  const after = cluster.client();
  t.teardown(() => after.close());
  t.equal(Buffer.from((await after.get('secret')).value).toString(), 'hunter2-RESTORE', 'and the node starts and serves the restored value');
});
