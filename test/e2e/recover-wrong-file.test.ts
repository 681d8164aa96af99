/**
 * `controller recover` given a cluster file the running members refuse (another cluster.name,
 * a certificate that is not a peer's, another CA): they answer, so they run, and two of three
 * voters running is a quorum. Recovery is refused (QUORUM_ALIVE, exit 2) naming who refused
 * and why, before anything is written; the node then rejoins with the right file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { CONTROLLER_JS, ProcessCluster, type CtlResult } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';

function recover(configFile: string, id: string): Promise<CtlResult> {
  return runToExit(CONTROLLER_JS, ['recover', '--config', configFile, '--id', id], `controller recover ${id}`, 30_000);
}

/** The cluster's file with `from` replaced by `to`, written beside it as `name`. */
function variant(cluster: ProcessCluster, name: string, from: string | RegExp, to: string): string {
  const text = fs.readFileSync(cluster.configFile, 'utf8');
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`${String(from)} is not in ${cluster.configFile}`);
  const file = path.join(cluster.dir, name);
  fs.writeFileSync(file, changed);
  return file;
}

/** Starts the cluster and stops c3 once it holds every entry, as an operator would before recovering it. */
async function twoOfThreeRunning(cluster: ProcessCluster): Promise<void> {
  cluster.startAll();
  await cluster.waitForLeader();
  await cluster.explainFailure(
    waitFor(async () => {
      const sts = await Promise.all(cluster.ids.map((id) => cluster.status(id)));
      return sts.every((s) => s !== null && s.clusterId !== '' && s.appliedIndex === sts[0]?.commitIndex);
    }, 'every member to apply every entry and hold the cluster id', 20_000),
  );
  await cluster.kill('c3', 'SIGTERM');
}

void t.test('a file that differs only in cluster.name: the members that refuse it run, so recovery is refused', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  await twoOfThreeRunning(cluster);
  const clusterId = (await cluster.status('c1'))?.clusterId;

  const wrong = variant(cluster, 'wrong-name.yaml', /^ {2}name: e2e$/m, '  name: e2e-prod');
  const refused = await recover(wrong, 'c3');
  t.equal(refused.code, 2, refused.stderr);
  t.match(
    refused.stderr,
    /^controller recover: refused \(QUORUM_ALIVE\): c1, c2 answered but refused this file's cluster name "e2e-prod": they run cluster "e2e"\. 2 of the 3 voters run, a quorum without c3/,
  );
  t.match(refused.stderr, /make the file match theirs \(cluster\.name, tls\) and start c3 again/);
  t.notMatch(refused.stdout, /about to:/, 'before saying what it would do, or writing anything');

  // Nothing was written: with the right file, c3 follows the same cluster again.
  cluster.start('c3');
  await cluster.explainFailure(
    waitFor(async () => {
      const s = await cluster.status('c3');
      return s !== null && s.leader !== '' && s.clusterId === clusterId;
    }, 'c3 to follow the cluster it left', 20_000),
  );
});

void t.test('a file whose certificate the members refuse, or do not finish the handshake with: refused too', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-recover-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  certs.makeCa('other-ca');
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('cluster-ca', id, { peer: id });
  const operator = certs.makeCert('cluster-ca', 'operator');
  const foreign = certs.makeCert('other-ca', 'c3-elsewhere', { peer: 'c3' });
  const tls = { ca: path.join(dir, 'cluster-ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` };
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', tls, clientTls: operator });
  t.teardown(() => cluster.stop());
  await twoOfThreeRunning(cluster);

  const notPeer = variant(cluster, 'operator-cert.yaml', /^ {2}cert: .*\n {2}key: .*$/m, `  cert: ${operator.cert}\n  key: ${operator.key}`);
  const refusedCert = await recover(notPeer, 'c3');
  t.equal(refusedCert.code, 2, refusedCert.stderr);
  t.match(refusedCert.stderr, /^controller recover: refused \(QUORUM_ALIVE\): c1, c2 answered but refused this file's TLS certificate \(NOT_A_PEER: /);

  const otherCa = variant(cluster, 'other-ca.yaml', /^ {2}cert: .*\n {2}key: .*$/m, `  cert: ${foreign.cert}\n  key: ${foreign.key}`);
  const refusedHandshake = await recover(otherCa, 'c3');
  t.equal(refusedHandshake.code, 2, refusedHandshake.stderr);
  t.match(refusedHandshake.stderr, /^controller recover: refused \(QUORUM_ALIVE\): c1 \(.+\), c2 \(.+\) answered but ended the connection in the TLS handshake/);
  t.notMatch(`${refusedCert.stdout}${refusedHandshake.stdout}`, /about to:/, 'nothing written');
});

void t.test('a file that leaves the other voters out, or lists them where they no longer answer: they are asked where the log records them', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  await twoOfThreeRunning(cluster);
  const [c1 = '', c2 = ''] = [cluster.addresses.get('c1'), cluster.addresses.get('c2')];

  // "Make this node the seed alone": the other members' lines deleted from cluster.nodes.
  const trimmed = variant(cluster, 'only-c3.yaml', /^ {4}- \{ id: c1, .*\n {4}- \{ id: c2, .*\n/m, '');
  const alone = await recover(trimmed, 'c3');
  t.equal(alone.code, 2, alone.stderr);
  t.match(alone.stderr, /^controller recover: refused \(QUORUM_ALIVE\): c1, c2 answer as running members of this cluster: 2 of the 3 voters, a quorum without c3/);

  // A stale file: both listed at ports where nothing listens.
  const [p1, p2] = await freePorts(2);
  const stale = variant(cluster, 'moved.yaml', new RegExp(`"${c1}"([^\n]*\n[^\n]*)"${c2}"`), `"127.0.0.1:${p1}"$1"127.0.0.1:${p2}"`);
  const moved = await recover(stale, 'c3');
  t.equal(moved.code, 2, moved.stderr);
  t.match(moved.stderr, /^controller recover: refused \(QUORUM_ALIVE\): c1, c2 answer as running members of this cluster/);
  t.notMatch(`${alone.stdout}${moved.stdout}`, /about to:/, 'nothing written');
});
