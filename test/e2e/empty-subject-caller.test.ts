/**
 * attack round 10: a client certificate whose subject DN is empty (RFC 5280 allows one with a
 * subjectAltName; SPIFFE SVIDs look like this), signed by the cluster's CA or its agent CA, took
 * a controller down with one call: Node reads such a subject as undefined, and the door checks
 * threw on it inside a gRPC interceptor. With one controller: each such call is answered (or
 * refused, for the agent CA's certificate) and the controller keeps serving.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';

void t.test('calls with certificates of empty subject are judged; the controller lives on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-empty-subject-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  certs.makeCa('agent-ca');
  certs.makeCert('cluster-ca', 'c1', { peer: 'c1' });
  const operator = certs.makeCert('cluster-ca', 'operator');
  const emptyOperator = certs.makeCert('cluster-ca', 'empty-operator', { subject: '/', san: 'URI:spiffe://acme/ops' });
  const emptyAgent = certs.makeCert('agent-ca', 'empty-agent', { subject: '/', san: 'URI:spiffe://acme/edge' });
  const cluster = await ProcessCluster.create({
    nodes: 1,
    logLevel: 'info',
    tls: { ca: operator.ca, cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key`, agentCa: emptyAgent.ca },
    clientTls: operator,
  });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const pid = cluster.pid('c1')!;
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const as = (files: { cert: string; key: string }) => ({ CTL_TLS_CERT: files.cert, CTL_TLS_KEY: files.key });

  const put = await cluster.ctl(['kv', 'put', 'k', 'v'], undefined, 20000, as(emptyOperator));
  t.equal(put.code, 0, `an operator certificate with an empty subject may write (${put.stderr.trim()})`);
  const list = await cluster.ctl(['list', 'controllers'], undefined, 20000, as(emptyOperator));
  t.equal(list.code, 0, 'and list');
  const agentCall = await cluster.ctl(['status'], undefined, 20000, as(emptyAgent));
  t.not(agentCall.code, 0, "the agent CA's certificate is refused the client API");
  t.match(agentCall.stderr, /AGENT_CERTIFICATE|agent CA/, 'as an agent certificate, its subject named');
  t.ok(alive(), 'the controller process lives on');
  const get = await cluster.ctl(['kv', 'get', 'k'], undefined, 20000);
  t.equal(get.code, 0, 'and serves the operator');
  t.match(get.stdout, /v/);
});
