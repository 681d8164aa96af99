/**
 * tls.agent_ca (src/transport/agent-ca-gate.ts): a certificate from the agent CA opens agent
 * streams and nothing else; an agent stream needs one; health checks are open to all. Checked
 * on the verdicts and through a real gRPC server over mutual TLS, unary and streaming.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { AGENT_STREAM_METHOD, agentCaGate } from '../../src/transport/agent-ca-gate.js';
import { mutualTlsCredentials, tlsAgentGate, tlsPeerAuth, type TlsFiles } from '../../src/transport/credentials.js';
import type { AuthenticatedCall } from '../../src/transport/peer-auth.js';
import { CertMaker } from '../helpers/certs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-ca-gate-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('agents');
const server = certs.makeCert('ca', 'c1', { peer: 'c1' });
const operator = certs.makeCert('ca', 'operator');
const edge = certs.makeCert('agents', 'edge-1');
// An agent CA's certificate dressed up as member c1's: still no peer.
const edgeAsPeer = certs.makeCert('agents', 'edge-2', { peer: 'c1' });
const agentCa = path.join(dir, 'agents.crt');
const der = (file: string): Buffer => new X509Certificate(fs.readFileSync(file)).raw;
const PUT = '/controller.api.Controller/Put';
const HEALTH = '/grpc.health.v1.Health/Check';

void t.test('the verdicts: agents stream, operators call the API, health is open', async (t) => {
  const gate = agentCaGate(fs.readFileSync(agentCa));
  t.equal(gate.refusal(AGENT_STREAM_METHOD, der(edge.cert)), null, "an agent CA's certificate opens an agent stream");
  t.match(gate.refusal(PUT, der(edge.cert)), /^AGENT_CERTIFICATE: the caller's certificate \(CN=edge-1\) was issued by the agent CA \(tls\.agent_ca\), so it may open agent streams only, not call \/controller\.api\.Controller\/Put$/);
  t.match(gate.refusal('/controller.api.Controller/RemoveMember', der(edge.cert)), /^AGENT_CERTIFICATE: .*RemoveMember$/, 'nor remove a member');
  t.match(gate.refusal('/controller.peer.RaftPeer/Append', der(edgeAsPeer.cert)), /^AGENT_CERTIFICATE/, 'nor call peer RPCs, peer URI or not');
  t.equal(gate.refusal(PUT, der(operator.cert)), null, "an operator's certificate calls the API");
  t.match(gate.refusal(AGENT_STREAM_METHOD, der(operator.cert)), /^NOT_AN_AGENT: agent streams need a certificate issued by the agent CA \(tls\.agent_ca\); the caller's certificate \(CN=operator\) was not$/);
  t.match(gate.refusal(AGENT_STREAM_METHOD, null), /^NOT_AN_AGENT: .*the caller presented no certificate$/);
  t.equal(gate.refusal(HEALTH, der(edge.cert)), null, 'health checks are open to agents');
  t.equal(gate.refusal(HEALTH, der(operator.cert)), null, 'and to everyone else');
  // The same certificate again is answered from memory, alike.
  t.equal(gate.refusal(AGENT_STREAM_METHOD, der(edge.cert)), null);
  t.match(gate.refusal(PUT, der(edge.cert)), /^AGENT_CERTIFICATE/);
});

void t.test('with an agent CA, peer RPCs need a certificate of the controllers CA: an agent CA certificate with a peer URI is no peer', async (t) => {
  const auth = tlsPeerAuth({ ...server, agentCa });
  const call = (file: string): AuthenticatedCall => ({ getAuthContext: () => ({ sslPeerCertificate: { raw: der(file) } }) });
  t.match(auth.check(call(edgeAsPeer.cert), 'c1'), { code: 'NOT_A_PEER', reason: /not issued by the controllers' CA/ });
  t.equal(auth.check(call(server.cert), 'c1'), null, "the controller's own peer certificate still is one");
  t.equal(tlsAgentGate(server), null, 'no agent CA: no gate');
  t.throws(() => tlsAgentGate({ ...server, agentCa: path.join(dir, 'missing.crt') }), /expected a readable PEM agent CA certificate at .*missing\.crt/);
});

const bytes: Pick<grpc.MethodDefinition<Buffer, Buffer>, 'requestSerialize' | 'requestDeserialize' | 'responseSerialize' | 'responseDeserialize'> = {
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};

void t.test('through a real server: refused calls end PERMISSION_DENIED before their handler runs', async (t) => {
  const files: TlsFiles = { ...server, agentCa };
  const refusedCodes: string[] = [];
  const gate = tlsAgentGate(files, (code) => refusedCodes.push(code))!;
  const srv = new grpc.Server({ interceptors: [gate.interceptor] });
  const handled: string[] = [];
  srv.addService(
    {
      Put: { path: PUT, requestStream: false, responseStream: false, ...bytes },
      Sync: { path: AGENT_STREAM_METHOD, requestStream: true, responseStream: true, ...bytes },
    },
    {
      Put: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        handled.push('Put');
        cb(null, Buffer.from('stored'));
      },
      Sync: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        handled.push('Sync');
        call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from('echo '), b])));
        call.on('end', () => call.end());
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => srv.bindAsync('127.0.0.1:0', mutualTlsCredentials(files).server, (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => srv.forceShutdown());
  const client = (f: TlsFiles): grpc.Client => {
    // Clients verify the server with the controllers' CA, whoever signed their own certificate.
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(fs.readFileSync(server.ca), fs.readFileSync(f.key), fs.readFileSync(f.cert)));
    t.teardown(() => c.close());
    return c;
  };
  const put = (c: grpc.Client): Promise<{ err: grpc.ServiceError | null; reply: string | null }> =>
    new Promise((resolve) => c.makeUnaryRequest(PUT, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('k=v'), (err, reply) => resolve({ err: err ?? null, reply: reply?.toString() ?? null })));
  const sync = (c: grpc.Client): Promise<{ err: grpc.ServiceError | null; got: string[] }> =>
    new Promise((resolve) => {
      const got: string[] = [];
      const call = c.makeBidiStreamRequest(AGENT_STREAM_METHOD, bytes.requestSerialize, bytes.responseDeserialize);
      call.on('data', (b: Buffer) => got.push(b.toString()));
      call.on('error', (err: grpc.ServiceError) => resolve({ err, got }));
      call.on('end', () => resolve({ err: null, got }));
      call.write(Buffer.from('hello'));
      call.end();
    });

  const asAgent = client(edge);
  const asOperator = client(operator);
  t.same(await sync(asAgent), { err: null, got: ['echo hello'] }, 'the agent streams');
  t.same(await put(asOperator), { err: null, reply: 'stored' }, 'the operator puts');
  const agentPut = await put(asAgent);
  t.equal(agentPut.err?.code, grpc.status.PERMISSION_DENIED, "the agent's put is refused");
  t.match(agentPut.err?.details, /^AGENT_CERTIFICATE: .*CN=edge-1.*not call \/controller\.api\.Controller\/Put$/);
  const operatorSync = await sync(asOperator);
  t.equal(operatorSync.err?.code, grpc.status.PERMISSION_DENIED, "the operator's agent stream is refused");
  t.match(operatorSync.err?.details, /^NOT_AN_AGENT: /);
  t.same(operatorSync.got, [], 'and carried nothing');
  t.same(handled, ['Sync', 'Put'], 'the refused calls never reached a handler');
  t.same(refusedCodes, ['AGENT_CERTIFICATE', 'NOT_AN_AGENT'], 'each refusal was counted by its code');
});
