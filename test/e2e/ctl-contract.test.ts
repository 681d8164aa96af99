/** Every `ctl` command of the contract against a real cluster, with its exit codes. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster, CONTROLLER_JS } from '../helpers/process-cluster.js';
import { freePorts } from '../helpers/free-ports.js';
import { nodeCommand } from '../helpers/node-command.js';
import { waitFor } from '../helpers/wait-for.js';
import { clusterVersionOf } from '../../src/statemachine/index.js';
import { VERSION } from '../../src/node/version.js';
import { spawnSync } from 'node:child_process';

void t.test('ctl commands and exit codes', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3 });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();

  const put = await cluster.ctl(['kv', 'put', 'color', 'blue']);
  t.equal(put.code, 0, put.stderr);
  const rev = Number(put.stdout.trim());
  t.ok(rev > 0, 'put prints the new revision');

  const get = await cluster.ctl(['kv', 'get', 'color', '-o', 'json']);
  t.equal(get.code, 0);
  t.same(JSON.parse(get.stdout), { key: 'color', value: 'blue', revision: rev }, 'kv get -o json has the contract shape');

  const casWin = await cluster.ctl(['kv', 'put', 'color', 'green', '--if-revision', String(rev)]);
  t.equal(casWin.code, 0, 'compare-and-set at the current revision wins');
  const casLose = await cluster.ctl(['kv', 'put', 'color', 'red', '--if-revision', String(rev)]);
  t.equal(casLose.code, 1, 'compare-and-set at a stale revision exits 1');
  t.equal(casLose.stderr.trim().split('\n').length, 1, 'one line on stderr');
  t.equal((await cluster.ctl(['kv', 'get', 'color'])).stdout.trim(), 'green', 'the lost CAS changed nothing');

  // Through a follower alone: it forwards writes to the leader, once, and they land there.
  const follower = cluster.ids.find((id) => id !== leader)!;
  const viaFollower = await cluster.ctl(['kv', 'put', 'shade', 'teal'], cluster.endpoints([follower]));
  t.equal(viaFollower.code, 0, `a put through follower ${follower} succeeds: ${viaFollower.stderr}`);
  const staleCas = await cluster.ctl(['kv', 'put', 'shade', 'navy', '--if-revision', '1'], cluster.endpoints([follower]));
  t.equal(staleCas.code, 1, "a forwarded stale compare-and-set keeps the leader's refusal");
  t.match(staleCas.stderr, /revision/i, `and says why: ${staleCas.stderr.trim()}`);
  const onLeader = await cluster.ctl(['kv', 'get', 'shade', '-o', 'json'], cluster.endpoints([leader]));
  t.same(JSON.parse(onLeader.stdout), { key: 'shade', value: 'teal', revision: Number(viaFollower.stdout.trim()) }, 'the leader has the forwarded write');

  t.equal((await cluster.ctl(['kv', 'del', 'color'])).code, 0, 'del succeeds');
  const missing = await cluster.ctl(['kv', 'get', 'color']);
  t.equal(missing.code, 4, 'get of a missing key exits 4');

  const status = await cluster.ctl(['status', '-o', 'json'], cluster.endpoints([leader]));
  t.equal(status.code, 0);
  const st = JSON.parse(status.stdout) as { leader: string; term: number };
  t.equal(st.leader, leader, 'status names the leader');

  // Every member runs this build and is heard: the leader raises the cluster version to its
  // MAJOR.MINOR, and each controller reports it once applied.
  const level = '0.14';
  t.equal(clusterVersionOf(VERSION), level, 'this build is at 0.14');
  const reported = new Map<string, unknown>();
  await waitFor(
    async () => {
      for (const id of cluster.ids) {
        const run = await cluster.ctl(['status', '-o', 'json'], cluster.endpoints([id]));
        reported.set(id, run.code === 0 ? (JSON.parse(run.stdout) as { clusterVersion: unknown }).clusterVersion : run.stderr);
      }
      return cluster.ids.every((id) => reported.get(id) === level);
    },
    'the cluster version on every controller',
    20000,
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last answers: ${JSON.stringify([...reported])}`);
  });
  t.pass(`every controller reports clusterVersion ${level}`);
  const statusText = await cluster.ctl(['status'], cluster.endpoints([leader]));
  t.match(statusText.stdout, new RegExp(`^clusterVersion: +${level.replace('.', '\\.')}$`, 'm'), 'the status table shows it');
  const version = await cluster.ctl(['version']);
  t.equal(version.code, 0, version.stderr);
  t.match(version.stdout, new RegExp(`^cluster version: ${level.replace('.', '\\.')}$`, 'm'), 'ctl version prints it beside the server version');
  for (const id of cluster.ids) {
    const trail = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([id]));
    const raised = trail.stdout.split('\n').filter((l) => l.includes('"type":"cluster.version"'));
    t.equal(raised.length, 1, `${id} audits the rise once`);
    t.match(raised[0], `"from":"0.1","to":"${level}","reason":"every member of the configuration runs ${level} or later"`);
  }

  const list = await cluster.ctl(['list', 'controllers', '-o', 'json']);
  t.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
  t.same(rows.map((r) => r['id']), cluster.ids, 'one row per member');
  t.same(Object.keys(rows[0]!), ['id', 'address', 'online', 'localState', 'clusterState', 'leader', 'voter', 'lastContactMs', 'heartbeatTimeoutMs', 'rttP50Ms', 'rttP99Ms', 'appliedIndex', 'lagEntries', 'version', 'answeredBy', 'stale', 'role', 'duplicateProcess'], 'contract fields in order, then those added beside them');
  t.equal(rows.filter((r) => r['leader'] === true).length, 1, 'exactly one leader row');

  t.equal((await cluster.ctl(['health'])).code, 0, 'health is 0 with a leader and a quorum online');

  const other = cluster.ids.find((id) => id !== leader)!;
  const transfer = await cluster.ctl(['leader', 'transfer', other]);
  t.equal(transfer.code, 0, transfer.stderr);
  t.equal(await cluster.waitForLeader(), other, 'leadership moved to the requested node');

  const audit = await cluster.ctl(['audit', '-o', 'json']);
  t.equal(audit.code, 0, audit.stderr);
  const events = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  t.ok(events.some((e) => e.type === 'leader.changed'), 'the audit trail records leader changes');

  t.equal((await cluster.ctl(['kv', 'frobnicate'])).code, 2, 'an unknown command exits 2');
  const [deadPort] = await freePorts(1);
  t.equal((await cluster.ctl(['status'], `127.0.0.1:${deadPort}`)).code, 3, 'no reachable endpoint exits 3');
});

void t.test('the controller refuses an invalid config with exit 2 and writes nothing', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1 });
  t.teardown(() => cluster.stop());
  const bad = path.join(cluster.dir, 'bad.yaml');
  fs.writeFileSync(bad, fs.readFileSync(cluster.configFile, 'utf8').replace('election_timeout: 500ms', 'election_timeout: 500ms\n  bogus_key: 1'));
  const badRun = nodeCommand(CONTROLLER_JS, ['--config', bad, '--id', 'c1']);
  const r = spawnSync(badRun.command, badRun.args, { encoding: 'utf8' });
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /raft\.bogus_key/, 'the message names the key path');
  t.notOk(fs.existsSync(path.join(cluster.dir, 'data')), 'nothing was written to data_dir');
  const unknownRun = nodeCommand(CONTROLLER_JS, ['--config', cluster.configFile, '--id', 'nope']);
  const unknownId = spawnSync(unknownRun.command, unknownRun.args, { encoding: 'utf8' });
  t.equal(unknownId.status, 2, 'an id not in the cluster exits 2');
});
