/**
 * tls.crl on real processes: three controllers given their CA's CRL still form a cluster (each
 * peer certificate passes the check), an operator's certificate still writes, and a revoked
 * operator certificate from the same CA is refused at the handshake, so nothing it asks is done.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';

void t.test('a revoked operator certificate is refused by every controller; the cluster and other operators carry on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-crl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('cluster-ca', id, { peer: id });
  const operator = certs.makeCert('cluster-ca', 'operator');
  const leaked = certs.makeCert('cluster-ca', 'leaked');
  certs.revoke('cluster-ca', 'leaked');
  const crl = certs.crl('cluster-ca');
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', tls: { ca: operator.ca, cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key`, crl }, clientTls: operator });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.explainFailure(cluster.waitForLeader());
  const endpoints = cluster.endpoints();

  const put = await cluster.ctl(['kv', 'put', 'k', 'by-operator'], endpoints);
  t.equal(put.code, 0, `the unrevoked operator writes: ${put.stderr}`);
  const asLeaked = { CTL_TLS_CERT: leaked.cert, CTL_TLS_KEY: leaked.key };
  const stolen = await cluster.ctl(['kv', 'put', 'k', 'by-thief'], endpoints, 20000, asLeaked);
  t.equal(stolen.code, 3, 'the revoked certificate: refused at the handshake, a TLS failure (exit 3)');
  t.match(stolen.stderr, /^ctl: TLS: .*(revoked|did not accept our certificate)/, 'named as TLS, the certificate refused');
  const members = await cluster.ctl(['member', 'remove', 'c3'], endpoints, 20000, asLeaked);
  t.not(members.code, 0, 'member remove with it is refused too');
  const get = await cluster.ctl(['kv', 'get', 'k'], endpoints);
  t.match(get.stdout, /by-operator/, 'the key is the operator\'s');
  const list = await cluster.ctl(['member', 'list', '-o', 'json'], endpoints);
  t.equal((JSON.parse(list.stdout) as unknown[]).length, 3, 'all three members are still there');
});
