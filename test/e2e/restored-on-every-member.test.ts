/**
 * Attack round 10's B1, inside the controllers: a backup restored on every member and all of them
 * started makes three one-member clusters under one cluster file, which never exchange a Raft
 * message. Each elected itself and called itself healthy, to `ctl health` against it alone too.
 * Now each asks its file's other peers which cluster they answer for, and says what it found: in
 * its endpoint status and `ctl health` (both exit 1, naming the peer, its cluster id and the fix),
 * as a warning of `list controllers`, in a metric and once in its log at error level. Following the restore procedure from there (the
 * others moved aside and joined empty) clears it. The procedure half-followed (the others started
 * on their old data dirs) leaves two clusters whose members refuse each other as CLUSTER_ID: both
 * sides report it from those refusals.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { backedUpAndStopped } from '../helpers/backed-up-cluster.js';
import { CONTROLLER_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';

interface Row {
  readonly id: string;
  readonly clusterId: string;
  readonly errors: readonly string[];
  readonly otherClusterPeers: readonly { readonly peer: string; readonly clusterId: string | null; readonly lastSeenMs: number }[];
}

async function gauge(address: string): Promise<number | null> {
  const res = await fetch(`http://${address}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith('controller_peers_other_cluster{'));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

void t.test('a backup restored on every member: each controller names the peers of other clusters, and health fails', async (t) => {
  const { cluster, backup: file } = await backedUpAndStopped(t, { nodes: 3, logLevel: 'info', metrics: true });
  const data = path.join(cluster.dir, 'data');
  for (const id of cluster.ids) fs.renameSync(path.join(data, id), path.join(data, `${id}.old`));

  // The mistake: the restore run on every host, and all of them started (together, as at boot).
  for (const id of cluster.ids) {
    const restore = await runToExit(CONTROLLER_JS, ['restore', '--from', file, '--config', cluster.configFile, '--id', id], `restore ${id}`, 30_000);
    t.equal(restore.code, 0, `restore on ${id}: ${restore.stderr}`);
  }
  cluster.startAll();
  for (const id of cluster.ids) await cluster.waitForLeader([id]);
  const ids = new Map<string, string>();
  for (const id of cluster.ids) {
    await waitFor(async () => ((await cluster.status(id))?.clusterId ?? '') !== '', `${id}'s cluster id`, 10_000);
    ids.set(id, (await cluster.status(id))!.clusterId);
  }
  t.equal(new Set(ids.values()).size, 3, 'three clusters, one per restored member');

  // Each member learns of the others on its own (c2's health below names c1 and c3).
  const c1Metrics = cluster.metricsAddresses.get('c1')!;
  for (const id of cluster.ids) {
    const metrics = cluster.metricsAddresses.get(id)!;
    await cluster.explainFailure(waitFor(async () => (await gauge(metrics)) === 2, `${id} to see both others answer for other clusters (controller_peers_other_cluster 2)`, 20_000));
  }

  const status = await cluster.ctl(['endpoint', 'status', '-o', 'json'], cluster.endpoints(['c1']));
  t.equal(status.code, 1, 'endpoint status prints its rows and fails, as health does');
  t.match(status.stderr, /c1 hears c2 answer for cluster [0-9a-f]{16}, c3 answer for cluster [0-9a-f]{16}: two clusters run under one cluster file/, 'naming who hears whom, and the fix');
  const [row] = JSON.parse(status.stdout) as Row[];
  t.strictSame(
    row?.otherClusterPeers.map((p) => [p.peer, p.clusterId]),
    [
      ['c2', ids.get('c2')],
      ['c3', ids.get('c3')],
    ],
    "c1's status names each peer with the cluster id it answers for",
  );
  t.match(row?.errors.join('\n'), /c2 \(cluster [0-9a-f]{16}\), c3 \(cluster [0-9a-f]{16}\) answer for another cluster than c1's/, 'and its errors say so');

  const health = await cluster.ctl(['health'], cluster.endpoints(['c1']));
  t.equal(health.code, 1, `ctl health against c1 alone is unhealthy (stdout: ${health.stdout.trim()})`);
  t.match(health.stderr, `c2 (cluster ${ids.get('c2')})`, 'naming the peer and its cluster id');
  t.match(health.stderr, /two clusters run under one cluster file .*start it with --join \(docs\/operate\.md, Backup and restore\)/, 'and the fix');
  const json = await cluster.ctl(['health', '-o', 'json'], cluster.endpoints(['c2']));
  t.equal(json.code, 1, 'c2 says so too');
  t.match(JSON.parse(json.stdout), { healthy: false, reason: /^c1 \(cluster [0-9a-f]{16}\), c3 \(cluster [0-9a-f]{16}\) answer for another cluster than c2's/ }, 'in its health answer');

  const list = await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints(['c1']));
  t.equal(list.code, 0, 'list controllers answers with its view');
  t.strictSame((JSON.parse(list.stdout) as { id: string }[]).map((c) => c.id), ['c1'], 'which holds c1 alone');
  t.match(list.stderr, /^warning: c2 \(cluster [0-9a-f]{16}\), c3 \(cluster [0-9a-f]{16}\) answer for another cluster than c1's/m, 'and warns of the others on stderr');

  const errors = cluster.dumpLogs('c1').split('\n').filter((l) => l.includes('"level":50') && l.includes('OTHER_CLUSTER_PEER'));
  t.equal(errors.length, 2, 'one error-level line per peer, not one per refusal or question');

  // The fix, as operate.md's restore procedure has it: c1 kept, the others moved aside and joined empty.
  for (const id of ['c2', 'c3']) {
    await cluster.kill(id, 'SIGTERM');
    fs.renameSync(path.join(data, id), path.join(data, `${id}.restored`));
    const add = await cluster.ctl(['member', 'add', id, cluster.addresses.get(id)!], cluster.endpoints(['c1']));
    t.equal(add.code, 0, add.stderr);
    cluster.start(id, ['--join']);
  }
  await cluster.explainFailure(waitFor(async () => (await gauge(c1Metrics)) === 0, 'c1 to forget the other clusters once they joined it', 20_000));
  let healed = { code: -1 as number | null, stderr: '' };
  await cluster.explainFailure(waitFor(async () => (healed = await cluster.ctl(['health'], cluster.endpoints(['c1']))).code === 0, 'ctl health against c1 to pass again', 20_000)).catch(() => undefined);
  t.equal(healed.code, 0, `healthy again: ${healed.stderr}`);
  const after = await cluster.ctl(['endpoint', 'status'], cluster.endpoints(['c1']));
  t.equal(after.code, 0, `endpoint status passes again: ${after.stderr}`);
  t.notMatch((await cluster.ctl(['list', 'controllers'], cluster.endpoints(['c1']))).stderr, 'another cluster', 'and list controllers warns no more');
});

void t.test('the procedure half-followed (c2 and c3 started on their old data dirs): both clusters name each other from refusals', async (t) => {
  const { cluster, backup: file } = await backedUpAndStopped(t, { nodes: 3, logLevel: 'info', metrics: true });
  const data = path.join(cluster.dir, 'data');
  fs.renameSync(path.join(data, 'c1'), path.join(data, 'c1.old'));
  const restore = await runToExit(CONTROLLER_JS, ['restore', '--from', file, '--config', cluster.configFile, '--id', 'c1'], 'restore c1', 30_000);
  t.equal(restore.code, 0, restore.stderr);
  cluster.start('c1');
  await cluster.waitForLeader(['c1']);
  const add = await cluster.ctl(['member', 'add', 'c2', cluster.addresses.get('c2')!], cluster.endpoints(['c1']));
  t.equal(add.code, 0, add.stderr);
  // The mistake: c2 and c3 started as before, on their old data dirs, without --join.
  cluster.start('c2');
  cluster.start('c3');
  await cluster.waitForLeader(['c2', 'c3']);

  // c1 leads c2 as its learner, and c2 refuses it; c2's cluster has c1 as a voter, and c1 refuses it.
  await cluster.explainFailure(waitFor(async () => (await gauge(cluster.metricsAddresses.get('c1')!)) === 2, "c1 to see c2 and c3 answer for the old cluster", 20_000));
  await cluster.explainFailure(waitFor(async () => (await gauge(cluster.metricsAddresses.get('c2')!)) === 1, 'c2 to see c1 answer for the restored one', 20_000));
  // c2 asks nobody (its file's peers are all its members): what it knows comes from refusals.
  t.match(cluster.dumpLogs('c2'), /"msg":"c1 \(cluster [0-9a-f]{16}\) answers for another cluster than c2's \([0-9a-f]{16}\): [^"]*\((it refuses this node as CLUSTER_ID|its message carries that cluster id)\)"/, 'c2 learned it from a refusal');
  const health = await cluster.ctl(['health'], cluster.endpoints(['c2']));
  t.equal(health.code, 1, 'ctl health against the old cluster alone fails too');
  t.match(health.stderr, /c1 \(cluster [0-9a-f]{16}\) answers for another cluster than c2's/);
});
