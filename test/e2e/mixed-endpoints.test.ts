/**
 * `ctl endpoint status` over endpoints of two different clusters (a staging host among
 * production ones) names which endpoint answers for which cluster and fails, instead of letting
 * ctl write to whichever answers first. So do `endpoint status --cluster` (whose member list
 * is one cluster's) and `ctl health`: two clusters under one cluster file (a restore run on every
 * member, attack round 10) each called itself healthy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { identityOf, type ClusterIdentity } from '../../src/api/cluster-identity.js';
import { controllerMethod } from '../../src/api/controller-proto.js';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

/** The identity the headers of a Status answer from `endpoint` carry (cluster-identity.ts). */
async function stampedIdentity(endpoint: string): Promise<ClusterIdentity | null> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const def = controllerMethod('Status');
  try {
    return await new Promise((resolve, reject) => {
      let identity: ClusterIdentity | null = null;
      const call = client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, new grpc.Metadata(), { deadline: Date.now() + 10000 }, (err) => (err ? reject(err) : resolve(identity)));
      call.on('metadata', (md) => (identity = identityOf(md)));
    });
  } finally {
    client.close();
  }
}

interface Row {
  readonly endpoint: string;
  readonly cluster: string | null;
  readonly clusterId: string | null;
}

void t.test('endpoints of two clusters: each named with its cluster, exit 1', async (t) => {
  const [a, b] = await Promise.all([ProcessCluster.create({ nodes: 1, logLevel: 'info' }), ProcessCluster.create({ nodes: 1, logLevel: 'info' })]);
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  a.startAll();
  b.startAll();
  await Promise.all([a.waitForLeader(), b.waitForLeader()]);
  // The same file name (e2e), two clusters: their ids tell them apart once each has drawn one.
  const idOf = async (c: ProcessCluster): Promise<string> => {
    let id = '';
    await waitFor(async () => (id = (await c.status('c1'))?.clusterId ?? '') !== '', 'the cluster id drawn', 10000);
    return id;
  };
  const [idA, idB] = await Promise.all([idOf(a), idOf(b)]);
  t.not(idA, idB);

  t.same(await stampedIdentity(a.endpoints()), { name: 'e2e', id: idA }, "each answer's headers name its cluster");

  const same = await a.ctl(['endpoint', 'status', '-o', 'json'], a.endpoints());
  t.equal(same.code, 0, same.stderr);
  t.match(JSON.parse(same.stdout), [{ cluster: 'e2e', clusterId: idA }], 'each row says the cluster it answers for');

  const mixed = `${a.endpoints()},${b.endpoints()}`;
  const run = await a.ctl(['endpoint', 'status', '-o', 'json'], mixed);
  t.equal(run.code, 1, 'exit 1');
  const rows = JSON.parse(run.stdout) as Row[];
  t.same(
    rows.map((r) => r.clusterId),
    [idA, idB],
    'the rows are printed, each with its cluster id',
  );
  t.equal(run.stderr.trim(), `ctl: the endpoints belong to different clusters: ${a.endpoints()} answer for cluster e2e (${idA}); ${b.endpoints()} answer for cluster e2e (${idB}); check --endpoints`);

  const cluster = await a.ctl(['endpoint', 'status', '--cluster', '-o', 'json'], mixed);
  t.equal(cluster.code, 1, '--cluster: exit 1 too');
  t.match(cluster.stderr, /the endpoints belong to different clusters/, "the other cluster's endpoint asked besides the members");

  // A write, or a read of the state, over both: refused before it is sent, naming both
  // clusters (exit 2); before, the put went to whichever answered first and exited 0.
  for (const [args, what] of [
    [['kv', 'put', 'mixed', 'v'], 'the put of "mixed"'],
    [['kv', 'get', 'mixed'], 'the read of "mixed"'],
    [['member', 'remove', 'c1'], 'the removal of member c1'],
    [['watch', 'mixed'], 'the watch of "mixed"'],
  ] as const) {
    for (const endpoints of [mixed, `${b.endpoints()},${a.endpoints()}`]) {
      const refused = await a.ctl([...args], endpoints);
      t.equal(refused.code, 2, `${args.join(' ')} over ${endpoints}: exit 2 (${refused.stderr.trim()})`);
      t.match(refused.stderr, `the endpoints belong to different clusters: `);
      t.match(refused.stderr, `${a.endpoints()} answer for cluster e2e (${idA})`);
      t.match(refused.stderr, `${b.endpoints()} answer for cluster e2e (${idB})`);
      t.match(refused.stderr, `refusing to send ${what}`);
    }
  }
  for (const c of [a, b]) {
    const get = await c.ctl(['kv', 'get', 'mixed'], c.endpoints());
    t.equal(get.code, 4, 'nothing was written in either cluster');
  }
  t.equal((await a.ctl(['member', 'list'], a.endpoints())).code, 0, 'c1 is still a member');
  const one = await a.ctl(['kv', 'put', 'mixed', 'v'], `${a.endpoints()},127.0.0.1:1`);
  t.equal(one.code, 0, `one cluster and an endpoint that does not answer: the put goes through (${one.stderr.trim()})`);

  // member add at an address where the other cluster answers (a port from its range): refused
  // before the add, naming both clusters; before, the learner was added and never caught up.
  const foreign = await a.ctl(['member', 'add', 'c9', b.endpoints()], a.endpoints());
  t.equal(foreign.code, 2, `member add at the other cluster's address: exit 2 (${foreign.stderr.trim()})`);
  t.match(foreign.stderr, `member add: ${b.endpoints()} answers for cluster e2e (id ${idB}), not this cluster e2e (id ${idA})`);
  const list = await a.ctl(['member', 'list', '-o', 'json'], a.endpoints());
  t.notMatch(list.stdout, /c9/, 'nothing was added');

  const healthOne = await a.ctl(['health'], a.endpoints());
  t.equal(healthOne.code, 0, `one cluster is healthy (${healthOne.stderr.trim()})`);
  const health = await a.ctl(['health'], mixed);
  t.not(health.code, 0, 'health fails over two clusters');
  t.match(health.stderr, new RegExp(`unhealthy: the endpoints belong to different clusters: .*${idA}.*${idB}`));
});

void t.test('endpoints mixing TLS and plaintext controllers: the row of each one ctl cannot speak to names TLS and the cause', async (t) => {
  // Before, the TLS controller's row read only `did not answer (UNAVAILABLE: No connection
  // established. Last error: Failed to connect ...)` when another endpoint answered (attack round 14).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-mixed-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('ca');
  certs.makeCert('ca', 'c1', { peer: 'c1' });
  const operator = certs.makeCert('ca', 'operator');
  const [plain, secure] = await Promise.all([
    ProcessCluster.create({ nodes: 1, logLevel: 'info' }),
    ProcessCluster.create({ nodes: 1, logLevel: 'info', tls: { ca: path.join(dir, 'ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` }, clientTls: operator }),
  ]);
  t.teardown(async () => {
    await plain.stop();
    await secure.stop();
  });
  plain.startAll();
  secure.startAll();
  await Promise.all([plain.waitForLeader(), secure.waitForLeader()]);
  const both = `${plain.endpoints()},${secure.endpoints()}`;

  const noTls = await plain.ctl(['endpoint', 'status', '-o', 'json'], both);
  t.equal(noTls.code, 1, 'exit 1: one endpoint did not answer');
  const rows = JSON.parse(noTls.stdout) as { endpoint: string; errors: string[] }[];
  t.match(rows[1]!.errors[0], /^TLS: the server requires TLS and ctl has no TLS settings/, "the TLS controller's row names TLS first");
  t.equal(noTls.stderr.trim().split('\n').length, 1);
  t.match(noTls.stderr, `ctl: 1 of 2 endpoints did not answer: ${secure.endpoints()} (TLS: the server requires TLS and ctl has no TLS settings`);

  const withTls = await secure.ctl(['endpoint', 'status'], both);
  t.equal(withTls.code, 1);
  t.equal(withTls.stderr.trim(), `ctl: 1 of 2 endpoints did not answer: ${plain.endpoints()} (TLS: the server does not speak TLS (drop the --tls-* options, or dial its TLS address))`);

  const silent = await plain.ctl(['endpoint', 'status'], `${plain.endpoints()},127.0.0.1:1`);
  t.equal(silent.stderr.trim(), 'ctl: 1 of 2 endpoints did not answer: 127.0.0.1:1', 'a refused connection is not a TLS story');
});
