/**
 * A member restarted with its address edited in its file, the cluster still holding the old one
 * (the independent test's F9): peers dial the old address, so the member would hear none of
 * them and half-work, reported healthy. It now stops at once: one line naming both addresses and
 * the way to move a member, exit 2. The cluster goes on without it, and takes it back when it
 * starts with the address the cluster has.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { freePorts } from '../helpers/free-ports.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a member whose file moved it stops with exit 2, naming both addresses; with its address back it rejoins', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const moved = cluster.ids.find((id) => id !== leader)!;
  const old = cluster.addresses.get(moved)!;
  // A port that is free and not the member's old one (which its kill frees).
  const port = (await freePorts(2)).find((p) => `127.0.0.1:${p}` !== old)!;
  await cluster.kill(moved, 'SIGTERM');
  const file = path.join(cluster.dir, `${moved}-moved.yaml`);
  fs.writeFileSync(file, fs.readFileSync(cluster.configFile, 'utf8').replace(old, `127.0.0.1:${port}`));

  const run = await runToExit(CONTROLLER_JS, ['--config', file, '--id', moved], `${moved} with its moved address`, 30_000);
  t.equal(run.code, 2, 'a config error');
  t.match(run.stderr, new RegExp(`cluster\\.nodes lists this member, ${moved}, at 127\\.0\\.0\\.1:${port}, but the cluster has it at ${old.replace(/\./g, '\\.')} \\(ctl member list\\)`));
  t.match(run.stderr, new RegExp(`ctl member remove ${moved}; ctl member add ${moved} 127\\.0\\.0\\.1:${port}`));

  const client = cluster.client();
  t.teardown(() => client.close());
  t.ok((await client.put('while-away', 'x')).revision > 0, 'the other two go on');
  cluster.start(moved);
  await waitFor(async () => (await cluster.status(moved))?.leader === leader, `${moved} following ${leader} again with its address back`, 30_000);
});
