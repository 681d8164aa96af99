/**
 * tls.crl on real processes: three controllers given their CA's CRL still form a cluster (each
 * peer certificate passes the check), an operator's certificate still writes, and a revoked
 * operator certificate from the same CA is refused at the handshake, so nothing it asks is done.
 * ctl, given a CRL revoking a controller's certificate (`--tls-crl`, `$CTL_TLS_CRL`), refuses
 * that controller and still talks to the others.
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

  // ctl checks the controllers' certificates against --tls-crl: c1's key leaked, its certificate
  // revoked in a CRL the operator holds (the controllers' own tls.crl is left as it was).
  certs.revoke('cluster-ca', 'c1');
  const c1Revoked = certs.crl('cluster-ca');
  const c1Only = cluster.endpoints(['c1']);
  const refused = await cluster.ctl(['--tls-crl', c1Revoked, 'kv', 'get', 'k'], c1Only);
  t.equal(refused.code, 3, `a controller whose certificate the CRL revokes is refused (exit 3): ${refused.stderr.trim()}`);
  t.match(refused.stderr, /^ctl: TLS: a certificate has been revoked/, 'named as a revoked certificate');
  const fromEnv = await cluster.ctl(['kv', 'get', 'k'], c1Only, 20000, { CTL_TLS_CRL: c1Revoked });
  t.equal(fromEnv.code, 3, 'the same from $CTL_TLS_CRL');
  const others = await cluster.ctl(['--tls-crl', c1Revoked, 'kv', 'get', 'k'], cluster.endpoints(['c2', 'c3']));
  t.equal(others.code, 0, `the others' certificates pass: ${others.stderr}`);
  t.match(others.stdout, /by-operator/);
  t.equal((await cluster.ctl(['kv', 'get', 'k'], c1Only)).code, 0, 'without --tls-crl, c1 is not checked for revocation');
  certs.makeCa('other-ca');
  const otherCrl = certs.crl('other-ca');
  const uncovered = await cluster.ctl(['--tls-crl', otherCrl, 'kv', 'get', 'k'], endpoints);
  t.equal(uncovered.code, 3);
  t.match(uncovered.stderr, `ctl: TLS: --tls-crl ${otherCrl}: holds no CRL of the CA CN=cluster-ca of $CTL_TLS_CA ${operator.ca}; OpenSSL would refuse every certificate it signs`, 'a CRL file without the CA of --tls-ca is named before any connection');
  const noTls = await cluster.ctl(['--tls-crl', c1Revoked, 'kv', 'get', 'k'], endpoints, 20000, { CTL_TLS_CA: '', CTL_TLS_CERT: '', CTL_TLS_KEY: '' });
  t.equal(noTls.code, 2, 'a CRL without TLS settings is a usage error');
  t.match(noTls.stderr, /expected \$CTL_TLS_CA \(or a certificate\) with --tls-crl/);
});
