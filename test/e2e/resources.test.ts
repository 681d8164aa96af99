/**
 * `ctl resources` on real processes: every member asked directly (the answering one
 * included), the static figures cached per member in a 0600 file of its data dir; a second
 * call within the expiry makes no remote call for them (the metric shows it); with a member
 * dead the command still exits 0 and lists it unreachable with its cached static figures (disk
 * and load null: not read this time); --refresh fetches again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { channelCredentials } from '../../src/cli/ctl/context.js';
import { ResourcesPeerClient } from '../../src/resources/peer-client.js';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { ctlResources, sample, scrape } from './autopilot-helpers.js';

void t.test('ctl resources with a cache and a dead member', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', metrics: true });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  // A cache serves only the incarnation the cluster recorded (round 6's F6): wait for the
  // records (the cluster id is drawn with them), or the second call would fetch again.
  await cluster.explainFailure(
    waitFor(async () => (JSON.parse((await cluster.ctl(['status', '-o', 'json'], cluster.endpoints(['c1']))).stdout) as { clusterId: string }).clusterId !== '', 'the cluster id', 20000),
  );
  // Ask c1 only, so one node's cache and counters are the ones that count.
  const viaC1 = cluster.endpoints(['c1']);
  const staticCalls = async (): Promise<number> => sample(await scrape(cluster.metricsAddresses.get('c1')!), 'resources_remote_calls_total', { figures: 'static' }) ?? -1;
  const liveCalls = async (): Promise<number> => sample(await scrape(cluster.metricsAddresses.get('c1')!), 'resources_remote_calls_total', { figures: 'live' }) ?? -1;
  t.equal(await staticCalls(), 0, 'no remote call before the first request');

  const first = await ctlResources(cluster, [], viaC1);
  t.equal(first.code, 0, first.stderr);
  const r = first.resources!;
  t.strictSame(Object.keys(r).slice(0, 2), ['members', 'commonCpuFlags']);
  t.strictSame(r.members.map((m) => [m.id, m.reachable, m.cached]), [
    ['c1', true, false],
    ['c2', true, false],
    ['c3', true, false],
  ], 'every member, the answering one included, fetched');
  for (const m of r.members) {
    t.strictSame(
      Object.keys(m).slice(0, 10),
      ['id', 'reachable', 'cached', 'fetchedAt', 'cpus', 'cpuModel', 'cpuFlags', 'memoryBytes', 'diskFreeBytes', 'loadAverage'],
      `${m.id}: the contract's fields, in its order`,
    );
    t.ok((m.cpus ?? 0) >= 1 && (m.memoryBytes ?? 0) > 0 && (m.diskFreeBytes ?? 0) > 0 && m.loadAverage?.length === 3, `${m.id}: figures`);
  }
  t.strictSame(r.commonCpuFlags, r.members[0]!.cpuFlags, 'one machine: every flag is common');
  t.equal(await staticCalls(), 2, 'one static fetch per other member');
  const cacheDir = path.join(cluster.dir, 'data', 'c1', 'resources');
  for (const id of cluster.ids) {
    const file = path.join(cacheDir, `${id}.json`);
    t.equal(fs.statSync(file).mode & 0o777, 0o600, `${id}'s cache file is mode 0600`);
  }

  const second = await ctlResources(cluster, [], viaC1);
  t.equal(second.code, 0);
  t.ok(second.resources!.members.every((m) => m.reachable && m.cached), 'within the expiry: from the cache');
  t.equal(await staticCalls(), 2, 'no remote call for the static figures');
  t.equal(await liveCalls(), 2, 'disk and load asked live, once per other member');

  // A corrupt cache file costs one fetch and a rewrite.
  fs.writeFileSync(path.join(cacheDir, 'c2.json'), '{ not json');
  const repaired = await ctlResources(cluster, [], viaC1);
  t.strictSame(repaired.resources!.members.map((m) => m.cached), [true, false, true]);
  t.equal(await staticCalls(), 3, 'exactly one fetch for the corrupt one');
  t.doesNotThrow(() => JSON.parse(fs.readFileSync(path.join(cacheDir, 'c2.json'), 'utf8')), 'and the file rewritten');

  await cluster.kill('c3');
  const dead = await ctlResources(cluster, [], viaC1);
  t.equal(dead.code, 0, 'a dead member does not fail the command');
  const c3 = dead.resources!.members.find((m) => m.id === 'c3')!;
  t.strictSame([c3.reachable, c3.cached, c3.cpus === null], [false, true, false], 'listed unreachable, with its cached static figures');
  t.strictSame([c3.diskFreeBytes, c3.loadAverage, c3.liveAt], [null, null, null], 'disk and load not read this time: null, never the old figures');
  t.ok(c3.error !== null && c3.error.length > 0, `with the reason: ${c3.error}`);
  t.equal(await staticCalls(), 3, 'still no static call for members whose cache is valid');

  const refreshed = await ctlResources(cluster, ['--refresh'], viaC1);
  t.equal(refreshed.code, 0);
  t.strictSame(refreshed.resources!.members.map((m) => [m.id, m.reachable, m.cached]), [
    ['c1', true, false],
    ['c2', true, false],
    ['c3', false, true],
  ], '--refresh fetches every member it can reach');
  t.equal(await staticCalls(), 5, 'c2 and (an attempt at) c3');

  const table = await cluster.ctl(['resources'], viaC1);
  t.equal(table.code, 0);
  t.match(table.stdout, /^ID\s+ADDRESS\s+REACHABLE\s+CPUS\s+MEMORY/);
  t.match(table.stdout, /common CPU flags: /);
  const lines = table.stdout.split('\n').map((l) => l.split(/ {2,}/));
  const c3Row = lines.find((cells) => cells[0] === 'c3')!;
  t.strictSame([5, 6].map((i) => c3Row[i]), ['-', '-'], "the dead member's DISK-FREE and LOAD: -");
  t.comment(table.stdout);
});

void t.test('ctl resources with mutual TLS between the members', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-resources-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('cluster-ca', id, { peer: id });
  const nodeFiles = { ca: path.join(dir, 'cluster-ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` };
  const operator = certs.makeCert('cluster-ca', 'operator');
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', tls: nodeFiles, clientTls: operator });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const r = await ctlResources(cluster);
  t.equal(r.code, 0, r.stderr);
  t.strictSame(r.resources?.members.map((m) => [m.id, m.reachable, m.error]), [
    ['c1', true, null],
    ['c2', true, null],
    ['c3', true, null],
  ], 'every member answers over its peer certificate');
  // An operator's certificate is not a peer's: it cannot ask a member directly.
  const member = new ResourcesPeerClient({
    self: 'c1',
    clusterName: 'e2e',
    credentials: channelCredentials({ ca: nodeFiles.ca, cert: operator.cert, key: operator.key }),
    envelope: () => ({ clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' }),
  });
  t.teardown(() => member.close());
  const refused = await member.describe({ id: 'c2', address: cluster.addresses.get('c2')! }, true, 5000).then(
    () => null,
    (err: unknown) => err,
  );
  t.match(String(refused), /PERMISSION_DENIED: NOT_A_PEER/, `an operator certificate claiming to be c1 is refused: ${String(refused)}`);
  // A member's peer certificate speaks for that member only: c3's cannot ask as c1.
  const impostor = new ResourcesPeerClient({
    self: 'c1',
    clusterName: 'e2e',
    credentials: channelCredentials({ ca: nodeFiles.ca, cert: path.join(dir, 'c3.crt'), key: path.join(dir, 'c3.key') }),
    envelope: () => ({ clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' }),
  });
  t.teardown(() => impostor.close());
  const wrongPeer = await impostor.describe({ id: 'c2', address: cluster.addresses.get('c2')! }, true, 5000).then(
    () => null,
    (err: unknown) => err,
  );
  t.match(String(wrongPeer), /PERMISSION_DENIED: WRONG_PEER: the caller's peer certificate is member c3's, but the message claims to come from "c1"/, `c3's certificate claiming to be c1 is refused: ${String(wrongPeer)}`);
});
