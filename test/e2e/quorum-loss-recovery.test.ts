/**
 * Quorum-loss recovery on real processes: writes stop and every member catches up,
 * `controller recover` refuses while the other two still run as a quorum, two of three die for
 * good, `controller recover` refuses a running node, an unknown member and an
 * empty data dir, then makes the stopped survivor the seed again; it keeps and commits every
 * entry of its log and starts a new epoch of the cluster's identity (a second run changes
 * nothing); two fresh members are
 * added, every acknowledged write is still there, and a left-out member that comes back with
 * its old data dir is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS, ProcessCluster, type CtlResult } from '../helpers/process-cluster.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { runToExit } from '../helpers/run-to-exit.js';

function recover(configFile: string, id: string, extra: readonly string[] = []): Promise<CtlResult> {
  return runToExit(CONTROLLER_JS, ['recover', '--config', configFile, '--id', id, ...extra], `controller recover ${id}`, 30_000);
}

void t.test('recover a survivor after losing two of three members for good', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  const acknowledged = new Map<string, string>();
  for (let i = 0; i < 40; i++) {
    await client.put(`key-${i}`, `value-${i}`);
    acknowledged.set(`key-${i}`, `value-${i}`);
  }
  // Writes stop; every member catches up (again after a restart: a new leader adds its no-op).
  let last = 0;
  const allCaughtUp = (): Promise<void> =>
    cluster.explainFailure(
      waitFor(async () => {
        const sts = await Promise.all(cluster.ids.map((id) => cluster.status(id)));
        last = Math.max(...sts.map((s) => s?.commitIndex ?? 0));
        return sts.every((s) => s !== null && s.appliedIndex === last);
      }, 'every member to apply every entry', 20_000),
    );
  await allCaughtUp();

  const survivor = 'c1';
  const oldClusterId = (await cluster.status(survivor))?.clusterId ?? '';
  t.match(oldClusterId, /^[0-9a-f]{16}$/, 'the cluster has an id');
  // With c2 and c3 still running, the quorum is not lost: recovering c1 would split the cluster.
  await cluster.kill(survivor, 'SIGTERM');
  const alive = await recover(cluster.configFile, survivor);
  t.equal(alive.code, 2, 'refused while a quorum of the other voters runs');
  t.match(alive.stderr, /^controller recover: refused \(QUORUM_ALIVE\): c2, c3 answer as running members of this cluster: 2 of the 3 voters, a quorum without c1/);
  t.notMatch(alive.stdout, /about to:/, 'before saying what it would do, or writing anything');
  cluster.start(survivor);
  await allCaughtUp(); // c1 follows again, unchanged
  await cluster.kill('c2');
  await cluster.kill('c3');

  const running = await recover(cluster.configFile, survivor);
  t.equal(running.code, 2, 'refused while the node runs');
  t.match(running.stderr, /^controller recover: refused \(NODE_RUNNING\): c1 is running/);
  await cluster.kill(survivor, 'SIGTERM');

  const unknown = await recover(cluster.configFile, survivor, ['--members', 'c1,c9']);
  t.equal(unknown.code, 2, 'an unknown member id is refused');
  t.match(unknown.stderr, /refused \(UNKNOWN_MEMBER\): --members: c9 is not a member/);
  fs.renameSync(path.join(cluster.dir, 'data', 'c3'), path.join(cluster.dir, 'data', 'c3.lost'));
  const empty = await recover(cluster.configFile, 'c3');
  t.equal(empty.code, 2, 'an empty data dir is refused');
  t.match(empty.stderr, /refused \(EMPTY_DATA_DIR\)/);
  t.notOk(fs.existsSync(path.join(cluster.dir, 'data', 'c3')), 'and nothing is created in its place');

  const done = await recover(cluster.configFile, survivor);
  t.equal(done.code, 0, done.stderr);
  t.match(done.stdout, /about to: keep and commit every entry up to \d+.*remove c2, c3 at term \d+, leaving voters c1/);
  t.match(done.stdout, new RegExp(`start a new epoch of the cluster's identity: cluster id ${oldClusterId} becomes [0-9a-f]{16}`));
  t.match(done.stdout, /asked the other voters whether they still run: c2 at 127\.0\.0\.1:\d+: no answer; c3 at 127\.0\.0\.1:\d+: no answer\n/);
  t.match(done.stdout, /done: every entry up to \d+ \(term \d+\) is committed and applied into the data dir's snapshot \(40 keys\)/);
  t.comment(done.stdout);
  const epoch = /becomes ([0-9a-f]{16})/.exec(done.stdout)?.[1];
  // Run again (the operator was not sure it worked): nothing changes. Before, it started another
  // epoch, and a second survivor recovered once with the first run refused this one.
  const again = await recover(cluster.configFile, survivor);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /^nothing changed: the configuration in c1's log is already voters c1 with no learner, so there is no member to remove or promote/);
  t.notMatch(again.stdout, /about to:/, 'nothing written');

  cluster.start(survivor);
  await cluster.waitForLeader([survivor]);
  const alone = await cluster.status(survivor);
  t.strictSame(alone?.voters, [survivor], 'the survivor is the only voter');
  t.ok((alone?.commitIndex ?? 0) >= last + 3, 'every entry of its log and the recovery entries are committed');
  t.match(alone?.clusterId, /^[0-9a-f]{16}$/);
  t.not(alone?.clusterId, oldClusterId, 'a new epoch of the cluster identity');
  t.equal(alone?.clusterId, epoch, 'the one the first run printed: the second started none');
  const list = JSON.parse((await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints([survivor]))).stdout) as Array<{ id: string }>;
  t.strictSame(list.map((r) => r.id), [survivor], 'the lost members are gone from list controllers');

  // Two fresh members join.
  const ports = await freePorts(2);
  const fresh = [
    { id: 'c4', address: `127.0.0.1:${ports[0]}` },
    { id: 'c5', address: `127.0.0.1:${ports[1]}` },
  ];
  const yaml = fs
    .readFileSync(cluster.configFile, 'utf8')
    .replace(/( {2}nodes:\n(?: {4}- .*\n)+)/, `$1${fresh.map((n) => `    - { id: ${n.id}, address: "${n.address}" }\n`).join('')}`);
  fs.writeFileSync(cluster.configFile, yaml);
  for (const n of fresh) {
    (cluster.addresses as Map<string, string>).set(n.id, n.address);
    const add = await cluster.ctl(['member', 'add', n.id, n.address, '--learner'], cluster.endpoints([survivor]));
    t.equal(add.code, 0, add.stderr);
    cluster.start(n.id, ['--join']);
    await cluster.explainFailure(waitFor(async () => ((await cluster.status(n.id))?.appliedIndex ?? 0) >= last, `${n.id} to catch up`, 30_000));
    const promote = await cluster.ctl(['member', 'promote', n.id], cluster.endpoints([survivor]));
    t.equal(promote.code, 0, promote.stderr);
  }
  await cluster.explainFailure(
    waitFor(async () => (await cluster.status(survivor))?.voters.length === 3, 'three voters again', 20_000),
  );

  // Every acknowledged write, read on each fresh member from its own state once it has caught up.
  const commit = (await cluster.status(survivor))?.commitIndex ?? 0;
  for (const n of fresh) {
    await waitFor(async () => ((await cluster.status(n.id))?.appliedIndex ?? 0) >= commit, `${n.id} to apply up to ${commit}`, 20_000);
    const reader = cluster.client([n.id]);
    let missing = 0;
    for (const [key, value] of acknowledged) {
      const got = await reader.get(key, { serializable: true }).catch(() => null);
      if (got === null || new TextDecoder().decode(got.value) !== value) missing += 1;
    }
    reader.close();
    t.equal(missing, 0, `${n.id} holds all ${acknowledged.size} acknowledged writes`);
  }
  const put = await cluster.ctl(['kv', 'put', 'after-recovery', 'yes'], cluster.endpoints(['c4', 'c5', survivor]));
  t.equal(put.code, 0, 'the recovered cluster takes writes');

  // A left-out member comes back with its old data dir: it is refused, and changes nothing.
  const back = cluster.start('c2');
  const code = await new Promise<number | null>((resolve) => back.once('exit', (c) => resolve(c)));
  t.equal(code, 2, 'c2 refuses to start with its old data dir');
  t.match(cluster.dumpLogs('c2'), /refusing to start \((REMOVED|FOREIGN_CLUSTER)\)/);
  t.strictSame((await cluster.status(survivor))?.voters, [survivor, 'c4', 'c5'], 'the cluster is as it was');
});
