/**
 * A cluster that ran, was backed up (`ctl snapshot save`) and was stopped: where the restore
 * tests begin, with every controller's data dir still in place.
 */
import path from 'node:path';
import type { Test } from 'tap';
import { ProcessCluster, type ClusterOptions } from './process-cluster.js';

export async function backedUpAndStopped(t: Test, opts: ClusterOptions): Promise<{ readonly cluster: ProcessCluster; readonly backup: string }> {
  const cluster = await ProcessCluster.create(opts);
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const backup = path.join(cluster.dir, 'backup.snap');
  const save = await cluster.ctl(['snapshot', 'save', backup]);
  t.equal(save.code, 0, `snapshot save: ${save.stderr}`);
  for (const id of cluster.ids) await cluster.kill(id, 'SIGTERM');
  return { cluster, backup };
}
