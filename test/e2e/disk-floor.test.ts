/**
 * controller.min_free_disk_bytes on real processes. Without it, members on alike disks filled
 * together and every one exited at the same write (attack round 13: three members on 8 MiB
 * tmpfs disks exited at the seventh 0.9 MB put with 2.9 MB free each; the client read only `no
 * endpoint answered`). A floor above any disk's free space makes every growing write refused,
 * through a follower, in one line naming the disk, while deletes pass and the figures are metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

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

void t.test("a follower's disk below its floor: the leader refuses growing writes naming it, and the follower says so itself", async (t) => {
  // c1 leads with its own floor off; c2 and c3 run with a floor above their disk. Before, only
  // the leader's disk was judged: every write passed until a follower's disk filled and it
  // exited 1, with nothing in any log or answer (attack round 14).
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', minFreeDiskBytes: FLOOR });
  t.teardown(() => cluster.stop());
  const floorOff = path.join(cluster.dir, 'c1.yaml');
  fs.writeFileSync(floorOff, fs.readFileSync(cluster.configFile, 'utf8').replace(`min_free_disk_bytes: ${FLOOR}`, 'min_free_disk_bytes: 0'));
  cluster.start('c1', [], floorOff);
  cluster.start('c2');
  cluster.start('c3');
  if ((await cluster.waitForLeader()) !== 'c1') {
    const moved = await cluster.ctl(['leader', 'transfer', 'c1']);
    t.equal(moved.code, 0, moved.stderr);
  }
  await waitFor(async () => (await cluster.status('c1'))?.role === 'leader', 'c1 leads', 10000);

  // The leader asks the voters every 2 s: the first writes may precede the first answers. A new
  // key each time: a put that does not grow the state passes any floor.
  let attempt = 0;
  let refused = await cluster.ctl(['kv', 'put', `k${attempt}`, 'value'], cluster.endpoints(['c1']));
  await waitFor(async () => (refused = await cluster.ctl(['kv', 'put', `k${++attempt}`, 'value'], cluster.endpoints(['c1']))).code !== 0, "a write refused for a follower's disk", 10000);
  t.equal(refused.code, 1, 'exit 1');
  t.match(
    refused.stderr,
    new RegExp(`^ctl: put of "k${attempt}" refused: the disk of (c2|c3)'s data dir has \\d+ bytes free \\(as \\1 answered \\d+ms ago\\), and this write needs about \\d+ above controller\\.min_free_disk_bytes ${FLOOR} \\(\\1's\\); .*Free disk space on \\1`),
  );

  const status = await cluster.ctl(['endpoint', 'status', '-o', 'json'], cluster.endpoints(['c2']));
  t.equal(status.code, 0, status.stderr);
  const [row] = JSON.parse(status.stdout) as { errors: string[] }[];
  t.match(row!.errors, [new RegExp(`^the disk of c2's data dir ${cluster.dir}/data/c2 has \\d+ bytes free, below controller\\.min_free_disk_bytes ${FLOOR}`)], "the follower's own row names its disk");
  t.match(cluster.dumpLogs('c2'), /"code":"DISK_BELOW_FLOOR"/, 'and its log');
  const health = await cluster.ctl(['health'], cluster.endpoints(['c1']));
  t.equal(health.code, 1, 'ctl health: unhealthy while every growing write is refused');
  t.match(health.stderr, /unhealthy: .*the leader refuses every write that grows the state: the disk of (c2|c3)'s data dir has \d+ bytes free/);
});
