/**
 * controller.min_free_disk_bytes on real processes. Without it, members on alike disks filled
 * together and every one exited at the same write (attack round 13: three members on 8 MiB
 * tmpfs disks exited at the seventh 0.9 MB put with 2.9 MB free each; the client read only `no
 * endpoint answered`). A floor above any disk's free space makes every growing write refused,
 * through a follower, in one line naming the disk, while deletes pass and the figures are metrics.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';

// Above any disk's free space: the floor is always reached.
const FLOOR = 2 ** 52;

void t.test('a write that would leave the leader\'s disk below controller.min_free_disk_bytes is refused NO_SPACE; deletes pass', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', minFreeDiskBytes: FLOOR, metrics: true });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const follower = cluster.endpoints([cluster.ids.find((id) => id !== leader)!]);

  const refused = await cluster.ctl(['kv', 'put', 'a', 'value'], follower);
  t.equal(refused.code, 1, 'exit 1');
  t.equal(refused.stderr.trim().split('\n').length, 1, 'in one line');
  t.match(refused.stderr, new RegExp(`put of "a" refused: the disk of ${leader}'s data dir ${cluster.dir}/data/${leader} has \\d+ bytes free, and this write needs about \\d+ above controller\\.min_free_disk_bytes ${FLOOR}`));
  t.equal((await cluster.ctl(['kv', 'get', 'a'], follower)).code, 4, 'nothing was written');
  // A delete is judged on the state, not refused for the disk (nothing can be put, so it finds no key).
  const del = await cluster.ctl(['kv', 'del', 'a'], follower);
  t.equal(del.code, 4, `a delete passes the floor: ${del.stderr.trim()}`);
  t.notMatch(del.stderr, /min_free_disk_bytes/);

  const text = await (await fetch(`http://${cluster.metricsAddresses.get(leader)!}/metrics`)).text();
  t.match(text, new RegExp(`^controller_min_free_disk_bytes\\{[^}]*\\} ${FLOOR}$`, 'm'), 'the floor is a metric');
  const free = Number(/^controller_data_dir_free_bytes\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? NaN);
  t.ok(free > 0 && free < FLOOR, `and the disk's free bytes: ${free}`);
});
