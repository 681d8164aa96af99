/**
 * Agents with TLS (issue 13, item 5): an agent's id is its certificate's identity (CN), no
 * other certificate can speak for it, and a second connection with the same id takes over
 * (the newer stream wins, the older is closed, audit agent.takeover).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { MeshClient } from '../../src/api/mesh-client.js';
import { encodeAgentMessage, type ControllerMessageWire } from '../../src/agents/wire.js';
import { loadProto, lookupService } from '../../src/transport/proto.js';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc, startWithAgents } from '../agents/agent-procs.js';

void t.test('with TLS the agent id is the certificate identity; a second connection with the same id takes over', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-agents-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  // Each controller runs its own peer certificate (docs/deploy.md); ctl and the mesh client use an operator's.
  for (const id of ['c1', 'c2', 'c3']) certs.makeCert('cluster-ca', id, { peer: id });
  const nodeFiles = certs.makeCert('cluster-ca', 'operator');
  const edge1 = certs.makeCert('cluster-ca', 'edge-1');
  const edge2 = certs.makeCert('cluster-ca', 'edge-2');
  // Signed by the same CA, for no agent: no CN, only an organisation and a URI.
  const nameless = certs.makeCert('cluster-ca', 'nameless', { subject: '/O=acme/OU=agents', san: 'URI:spiffe://acme/workload' });
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', tls: { ca: nodeFiles.ca, cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` }, clientTls: nodeFiles });
  const { agents, endpoints } = await startWithAgents(t, cluster);
  const tlsEnv = (f: { ca: string; cert: string; key: string }) => ({ AGENT_TLS_CA: f.ca, AGENT_TLS_CERT: f.cert, AGENT_TLS_KEY: f.key });

  const mismatch = await AgentProc.run(['--controllers', endpoints, '--id', 'someone-else'], tlsEnv(edge1));
  t.equal(mismatch.code, 2, 'an --id other than the certificate identity is refused at start');
  t.match(mismatch.stderr, /--id "someone-else" differs from the certificate's identity "edge-1"/);

  const first = new AgentProc({ id: 'edge-1', controllers: endpoints, dir, env: tlsEnv(edge1) }).start();
  agents.push(first);
  const mesh = new MeshClient({ endpoints: endpoints.split(','), timeoutMs: 5000, credentials: grpc.credentials.createSsl(fs.readFileSync(nodeFiles.ca), fs.readFileSync(nodeFiles.key), fs.readFileSync(nodeFiles.cert)) });
  t.teardown(() => mesh.close());
  await cluster.explainFailure(waitFor(async () => (await mesh.listAgents().catch(() => null))?.agents.some((a) => a.id === 'edge-1' && a.online) === true, 'edge-1 online', 20000));

  // edge-2's certificate claims to be edge-1 with a hand-made hello: refused; so does a
  // certificate with no CN, which names no agent.
  const Ctor = lookupService(loadProto('agent.proto'), 'controller.agents.AgentSync');
  const forgedHello = async (files: { ca: string; cert: string; key: string }): Promise<grpc.ServiceError> => {
    const forger = new Ctor(endpoints.split(',')[0]!, grpc.credentials.createSsl(fs.readFileSync(files.ca), fs.readFileSync(files.key), fs.readFileSync(files.cert)));
    try {
      return await new Promise<grpc.ServiceError>((resolve) => {
        const call = (forger as unknown as { Sync: () => grpc.ClientDuplexStream<unknown, ControllerMessageWire> }).Sync();
        call.on('data', () => undefined);
        call.on('error', resolve);
        call.write(encodeAgentMessage({ type: 'hello', agentId: 'edge-1', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'forged', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] }));
      });
    } finally {
      forger.close();
    }
  };
  const refusal = await forgedHello(edge2);
  t.equal(refusal.code, grpc.status.PERMISSION_DENIED);
  t.match(refusal.details, /"edge-2" cannot speak for agent "edge-1"/);
  const namelessRefusal = await forgedHello(nameless);
  t.equal(namelessRefusal.code, grpc.status.PERMISSION_DENIED, 'a certificate without a CN speaks for no agent');
  t.match(namelessRefusal.details, /no subject CN, so it names no agent and cannot speak for agent "edge-1"/);

  // ReportAgents and ReportMesh are controller-to-controller calls: an agent's or an operator's
  // certificate may not make them (or it could publish services, or record dependencies, for any agent).
  const MeshCtor = lookupService(loadProto('agent.proto'), 'controller.agents.Mesh');
  for (const method of ['ReportAgents', 'ReportMesh'] as const) {
    for (const [who, files] of [['edge-2', edge2], ['the operator', nodeFiles]] as const) {
      const m = new MeshCtor(endpoints.split(',')[0]!, grpc.credentials.createSsl(fs.readFileSync(files.ca), fs.readFileSync(files.key), fs.readFileSync(files.cert)));
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        m.makeUnaryRequest(
          `/controller.agents.Mesh/${method}`,
          (x: object) => Buffer.from(JSON.stringify(x)).subarray(0, 0),
          (b: Buffer) => b,
          {},
          { deadline: Date.now() + 5000 },
          (e) => resolve(e ?? null),
        ),
      );
      m.close();
      t.equal(err?.code, grpc.status.PERMISSION_DENIED, `${method} with ${who}'s certificate is refused`);
      t.match(err?.details, new RegExp(`NOT_A_PEER: ${method} is a controller-to-controller call, for peer certificates only`));
    }
  }

  // The same certificate twice: the newer connection wins and the older is closed.
  const second = new AgentProc({ id: 'edge-1', controllers: endpoints, dir, env: tlsEnv(edge1), outName: 'edge-1-second.json' }).start();
  agents.push(second);
  await cluster.explainFailure(
    waitFor(async () => (await cluster.ctl(['audit', '-o', 'json'], endpoints, 20000, { CTL_TLS_CA: nodeFiles.ca, CTL_TLS_CERT: nodeFiles.cert, CTL_TLS_KEY: nodeFiles.key })).stdout.includes('"type":"agent.takeover","subject":"edge-1"'), 'an agent.takeover audit event', 20000),
  );
  await waitFor(() => first.log.join('').includes('taken-over'), 'the older process told it was taken over', 10000);
  const told = first.log
    .join('')
    .split('\n')
    .find((l) => l.includes('"outcome":"taken-over"'))!;
  t.match(JSON.parse(told) as object, { level: 40, hint: /two processes run with one id/ }, 'as a warning: a loop of two processes with one id shows in the warnings');
  const listed = (await mesh.listAgents()).agents.filter((a) => a.id === 'edge-1');
  t.equal(listed.length, 1, 'one record for the id');
  t.equal(listed[0]?.online, true);
});
