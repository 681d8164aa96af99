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
import type { DetailedPeerCertificate } from 'node:tls';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import type { AuthenticatedCall } from '../../src/transport/peer-auth.js';
import { chainAbove } from '../../src/transport/peer-chain.js';
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

// attack round 10: an agent certificate issued by an intermediate CA under tls.agent_ca passed
// the handshake (it chains to the agent CA) but was taken for an operator's: the gate looked for
// the agent CA as the direct issuer only.
certs.makeIntermediate('agents', 'agents-int');
const intermediateEdge = certs.makeCert('agents-int', 'edge-int');
const intermediatePem = path.join(dir, 'agents-int.crt');
// A forged "intermediate": the real one's name, a key of the forger's own, signed by itself.
certs.makeCa('agents-int-forged', { cn: 'agents-int' });
const forgedIssuedEdge = certs.makeCert('agents-int-forged', 'edge-forged');
const x509 = (file: string): X509Certificate => new X509Certificate(fs.readFileSync(file));
/** Node's detailed peer certificate for a chain of files, leaf first, the last linked to itself. */
function detailed(files: readonly string[]): DetailedPeerCertificate {
  const nodes = files.map((f) => ({ raw: x509(f).raw }) as unknown as { raw: Buffer; issuerCertificate?: unknown });
  nodes.forEach((n, i) => (n.issuerCertificate = nodes[i + 1] ?? n));
  return nodes[0] as unknown as DetailedPeerCertificate;
}

void t.test('chainAbove: each link checked; a certificate placed above one it did not sign makes the chain unverified', async (t) => {
  const ok = chainAbove(detailed([intermediateEdge.cert, intermediatePem, agentCa]));
  t.ok(ok.verified);
  t.same(ok.verified ? ok.issuers.map((c) => c.subject) : null, ['CN=agents-int', 'CN=agents'], 'nearest issuer first');
  t.same(chainAbove(detailed([intermediateEdge.cert])), { verified: true, issuers: [] }, 'a leaf alone: nothing above');
  t.same(chainAbove(detailed([intermediateEdge.cert, path.join(dir, 'agents-int-forged.crt')])), { verified: false }, 'the forged intermediate, same name, did not sign it');
  t.same(chainAbove(detailed([forgedIssuedEdge.cert, intermediatePem, agentCa])), { verified: false }, "a leaf of the forger's under the real intermediate");
});

void t.test('the verdicts with the chain: an intermediate of the agent CA issues agents; a chain that does not verify is refused everything', async (t) => {
  const gate = agentCaGate(fs.readFileSync(agentCa));
  const chain = chainAbove(detailed([intermediateEdge.cert, intermediatePem, agentCa]));
  t.match(gate.refusal(PUT, der(intermediateEdge.cert), chain), /^AGENT_CERTIFICATE: the caller's certificate \(CN=edge-int\) was issued by the agent CA/, 'no client API for it');
  t.equal(gate.refusal(AGENT_STREAM_METHOD, der(intermediateEdge.cert), chain), null, 'it opens agent streams');
  const unverified = { verified: false } as const;
  t.match(gate.refusal(PUT, der(forgedIssuedEdge.cert), unverified), /^UNVERIFIED_CHAIN: /);
  t.match(gate.refusal(AGENT_STREAM_METHOD, der(forgedIssuedEdge.cert), unverified), /^UNVERIFIED_CHAIN: /);
  t.equal(gate.refusal(HEALTH, der(forgedIssuedEdge.cert), unverified), null, 'health stays open');
  const operatorChain = chainAbove(detailed([operator.cert, operator.ca]));
  t.equal(gate.refusal(PUT, der(operator.cert), operatorChain), null, "an operator's certificate with its chain calls the API");
});

void t.test('through a real server with the call guard: an intermediate-issued agent certificate, sent with its chain, is an agent', async (t) => {
  const files: TlsFiles = { ...server, agentCa };
  const gate = tlsAgentGate(files)!;
  const srv = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined }), gate.interceptor] });
  srv.addService({ Put: { path: PUT, requestStream: false, responseStream: false, ...bytes } }, { Put: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('stored')) });
  const port = await new Promise<number>((resolve, reject) => srv.bindAsync('127.0.0.1:0', mutualTlsCredentials(files).server, (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => srv.forceShutdown());
  const chainPem = Buffer.concat([fs.readFileSync(intermediateEdge.cert), fs.readFileSync(intermediatePem)]);
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(fs.readFileSync(server.ca), fs.readFileSync(intermediateEdge.key), chainPem));
  t.teardown(() => c.close());
  const err = await new Promise<grpc.ServiceError | null>((resolve) => c.makeUnaryRequest(PUT, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('k=v'), (e) => resolve(e ?? null)));
  t.equal(err?.code, grpc.status.PERMISSION_DENIED, 'its put is refused (on the old gate: stored)');
  t.match(err?.details, /^AGENT_CERTIFICATE: .*CN=edge-int/);
});

void t.test('chainAbove: a link Node made to the wrong one of two same-named CAs is found among the trusted CAs', async (t) => {
  certs.makeCa('twin-old', { cn: 'twin-ca' });
  certs.makeCa('twin-new', { cn: 'twin-ca' });
  const leaf = certs.makeCert('twin-new', 'twin-operator');
  const [oldCa, newCa] = ['twin-old', 'twin-new'].map((n) => x509(path.join(dir, `${n}.crt`)));
  // As Node links by names: the leaf under the old CA, which did not sign it.
  const mislinked = detailed([leaf.cert, path.join(dir, 'twin-old.crt')]);
  t.same(chainAbove(mislinked), { verified: false }, 'without the trusted CAs, the link does not verify');
  const found = chainAbove(mislinked, [oldCa!, newCa!]);
  t.ok(found.verified, 'with them, the CA that signed it ends the chain');
  t.equal(found.verified ? found.issuers[0]?.fingerprint256 : null, newCa!.fingerprint256);
  t.same(chainAbove(detailed([forgedIssuedEdge.cert, intermediatePem]), [oldCa!, newCa!, x509(agentCa)]), { verified: false }, 'a leaf no trusted CA signed stays unverified');
});
