/**
 * One backup restored on two hosts makes two clusters under one cluster file, each with its own
 * new identity, which never talk to each other: the second to start says so in its log (an
 * adversarial operator test found it silent, and `ctl` then answered from either cluster).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { backedUpAndStopped } from '../helpers/backed-up-cluster.js';
import { CONTROLLER_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a backup restored on two members: the second to start warns that two clusters run under the file', async (t) => {
  const { cluster, backup: file } = await backedUpAndStopped(t, { nodes: 3, logLevel: 'info' });
  fs.rmSync(path.join(cluster.dir, 'data'), { recursive: true, force: true });

  for (const id of ['c1', 'c2']) {
    const restore = await runToExit(CONTROLLER_JS, ['restore', '--from', file, '--config', cluster.configFile, '--id', id], `restore ${id}`, 30_000);
    t.equal(restore.code, 0, `restore on ${id}: ${restore.stderr}`);
  }
  cluster.start('c1');
  await cluster.waitForLeader(['c1']);
  cluster.start('c2');
  await cluster.explainFailure(waitFor(() => /two clusters run under this cluster file/.test(cluster.dumpLogs('c2')), 'the warning in c2\'s log', 20_000));
  t.match(cluster.dumpLogs('c2'), /c1 answered for cluster [0-9a-f]+, not cluster [0-9a-f]+ of data dir/);
});
