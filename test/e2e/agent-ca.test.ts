/**
 * tls.agent_ca on real processes: agents' certificates come from a CA of their own, and the
 * controllers tell them from operators'. An agent's certificate syncs but cannot write a key
 * or remove a member (its stolen key is an agent's, not an operator's); an operator's
 * certificate cannot pose as an agent. /metrics is served over HTTPS to scrapers' certificates
 * only (tls.metrics_client_ca).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { scrapeHttps } from '../helpers/https-scrape.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { readSnapshotFile } from '../../src/backup/snapshot-file.js';
import { CLIENT_SHARE_VERSION, compareClusterVersions } from '../../src/statemachine/index.js';
import { AgentProc, startWithAgents } from '../agents/agent-procs.js';

void t.test('an agent CA certificate syncs and does nothing else; an operator certificate is no agent', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-agent-ca-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  certs.makeCa('agents-ca');
  certs.makeCa('scrapers-ca');
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('cluster-ca', id, { peer: id });
  const operator = certs.makeCert('cluster-ca', 'operator');
  const edge = certs.makeCert('agents-ca', 'edge-1');
  const prometheus = certs.makeCert('scrapers-ca', 'prometheus');
  const cluster = await ProcessCluster.create({
    nodes: 3,
    logLevel: 'info',
    tls: { ca: operator.ca, cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key`, agentCa: path.join(dir, 'agents-ca.crt'), metricsClientCa: path.join(dir, 'scrapers-ca.crt') },
    clientTls: operator,
    metrics: true,
  });
  const { agents, endpoints } = await startWithAgents(t, cluster);
  // Agents verify the controllers with the cluster CA; their own certificate is the agent CA's.
  const agentEnv = (cert: { cert: string; key: string }) => ({ AGENT_TLS_CA: operator.ca, AGENT_TLS_CERT: cert.cert, AGENT_TLS_KEY: cert.key });
  const asEdge = { CTL_TLS_CERT: edge.cert, CTL_TLS_KEY: edge.key };

  agents.push(new AgentProc({ id: 'edge-1', controllers: endpoints, dir, env: agentEnv(edge) }).start());
  const online = async (): Promise<boolean> => {
    const r = await cluster.ctl(['list', 'agents', '-o', 'json'], endpoints);
    return r.code === 0 && (JSON.parse(r.stdout) as { id: string; online: boolean }[]).some((a) => a.id === 'edge-1' && a.online);
  };
  await cluster.explainFailure(waitFor(online, 'edge-1 online with its agent CA certificate', 20000));

  const put = await cluster.ctl(['kv', 'put', 'owned', 'by-edge'], endpoints, 20000, asEdge);
  t.equal(put.code, 1, "ctl with the agent's certificate: kv put fails (the controllers answered: not exit 3)");
  t.equal(put.stderr.trim().split('\n').length, 1, 'in one line');
  t.match(put.stderr, /AGENT_CERTIFICATE: the caller's certificate \(CN=edge-1\) was issued by the agent CA \(tls\.agent_ca\), so it may open agent streams only/);
  const remove = await cluster.ctl(['member', 'remove', 'c3'], endpoints, 20000, asEdge);
  t.equal(remove.code, 1, 'member remove fails');
  t.match(remove.stderr, /AGENT_CERTIFICATE/);
  const members = await cluster.ctl(['member', 'list', '-o', 'json'], endpoints);
  t.equal(members.code, 0);
  t.equal((JSON.parse(members.stdout) as unknown[]).length, 3, 'all three members are still there');
  const get = await cluster.ctl(['kv', 'get', 'owned'], endpoints);
  t.not(get.stdout, /by-edge/, 'the key was never written');

  // The operator's certificate as an agent: refused, and the agent says why.
  const poser = new AgentProc({ id: 'operator', controllers: endpoints, dir, env: agentEnv(operator), outName: 'operator.json' }).start();
  agents.push(poser);
  await waitFor(() => poser.log.join('').includes('NOT_AN_AGENT: agent streams need a certificate issued by the agent CA (tls.agent_ca)'), 'the posing agent told why', 20000);
  const refusal = poser.log.join('').split('\n').find((line) => line.includes('NOT_AN_AGENT'));
  t.match(refusal, /"level":40/, 'as a warning: the refusal repeats until an operator acts');
  // Every refusal is counted where it happened: client_calls_refused_total{code}, summed over the controllers.
  const refused = async (code: string): Promise<number> => {
    let sum = 0;
    for (const id of cluster.ids) {
      const scrape = await scrapeHttps(cluster.metricsAddresses.get(id)!, operator.ca, prometheus);
      if (!('body' in scrape)) throw new Error(`scraping ${id} with the scrapers' certificate failed: ${scrape.error}`);
      const text = scrape.body;
      const m = new RegExp(`^client_calls_refused_total\\{code="${code}"[^}]*\\} (\\d+)$`, 'm').exec(text);
      sum += m === null ? 0 : Number(m[1]);
    }
    return sum;
  };
  t.ok((await refused('AGENT_CERTIFICATE')) >= 2, "the agent certificate's put and member remove are counted");
  t.ok((await refused('NOT_AN_AGENT')) >= 1, "the operator's agent stream is counted");
  const byOperator = await scrapeHttps(cluster.metricsAddresses.get('c1')!, operator.ca, operator);
  t.ok('error' in byOperator, `/metrics with the operator's certificate: the handshake fails (${JSON.stringify(byOperator).slice(0, 60)})`);
  const listed = await cluster.ctl(['list', 'agents', '-o', 'json'], endpoints);
  t.same(
    (JSON.parse(listed.stdout) as { id: string }[]).map((a) => a.id),
    ['edge-1'],
    'only the real agent is listed',
  );

  // From cluster version 0.5 each exactly-once record names its caller's certificate identity as
  // the controller that took the write saw it: a put through a follower is forwarded under the
  // follower's peer certificate and still recorded as the operator's (src/api/caller-owner.ts).
  const client = cluster.client(cluster.ids);
  t.teardown(() => client.close());
  await waitFor(async () => compareClusterVersions(String((await client.status()).clusterVersion), CLIENT_SHARE_VERSION) >= 0, `the cluster version to reach ${CLIENT_SHARE_VERSION}`, 20000);
  const leader = (await client.status()).leader;
  const follower = cluster.ids.find((id) => id !== leader)!;
  const viaFollower = await cluster.ctl(['kv', 'put', 'owned', 'by-operator'], cluster.endpoints([follower]));
  t.equal(viaFollower.code, 0, `a put through the follower: ${viaFollower.stderr}`);
  const snap = path.join(dir, 'owners.snap');
  const save = await cluster.ctl(['snapshot', 'save', snap], cluster.endpoints([leader]));
  t.equal(save.code, 0, `snapshot save: ${save.stderr}`);
  const state = JSON.parse(Buffer.from(readSnapshotFile(snap).data.subarray(1)).toString('utf8')) as { clients: { records: unknown[][] } };
  const owners = new Set(state.clients.records.map((r) => r[6]));
  t.ok(owners.has('cn:operator'), `the operator's write is its own (owners: ${[...owners].join(', ')})`);
  t.notOk(owners.has(`cn:${follower}`), 'not the forwarding member');
});
