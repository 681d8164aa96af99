/**
 * attack round 10: a certificate whose subject DN is empty (RFC 5280 allows one with a
 * subjectAltName; SPIFFE SVIDs look like this). Node's X509Certificate.subject is then
 * undefined, and the caller checks that read it as a string threw inside a gRPC interceptor,
 * taking the controller down. Each reader of a subject is checked with such a certificate.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { certificateIdentity } from '../../src/agents/identity.js';
import { AGENT_STREAM_METHOD, agentCaGate } from '../../src/transport/agent-ca-gate.js';
import { EMPTY_SUBJECT, subjectLines, subjectText } from '../../src/transport/cert-subject.js';
import { certificatePeerAuth } from '../../src/transport/peer-auth.js';
import { CertMaker } from '../helpers/certs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cert-subject-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('agents');
const empty = certs.makeCert('ca', 'empty', { subject: '/', san: 'URI:spiffe://acme/workload' });
const emptyAgent = certs.makeCert('agents', 'empty-agent', { subject: '/', san: 'URI:spiffe://acme/edge' });
const named = certs.makeCert('ca', 'named', { subject: '/O=acme/CN=ops' });
const x509 = (file: string): X509Certificate => new X509Certificate(fs.readFileSync(file));

void t.test("Node reads an empty subject DN as undefined, which this module turns into '' and a name for messages", async (t) => {
  const cert = x509(empty.cert);
  t.equal((cert as { subject?: unknown }).subject, undefined, "Node's own reading (what broke the callers)");
  t.equal(subjectLines(cert), '');
  t.equal(subjectText(cert), EMPTY_SUBJECT);
  t.equal(subjectText(x509(named.cert)), 'O=acme, CN=ops');
});

void t.test('the peer check refuses a caller with an empty subject as no peer, naming it, instead of throwing', async (t) => {
  const auth = certificatePeerAuth(fs.readFileSync(path.join(dir, 'ca.crt')), false);
  const call = { getAuthContext: () => ({ sslPeerCertificate: { raw: x509(empty.cert).raw } }) };
  const refusal = auth.check(call, 'c2');
  t.equal(refusal?.code, 'NOT_A_PEER');
  t.match(refusal?.reason, /the caller's certificate \(\(empty subject\)\) is not a peer certificate/);
});

void t.test('the agent gate judges a certificate with an empty subject, naming it, instead of throwing', async (t) => {
  const gate = agentCaGate(fs.readFileSync(path.join(dir, 'agents.crt')));
  t.equal(gate.refusal(AGENT_STREAM_METHOD, x509(emptyAgent.cert).raw), null, 'an agent CA certificate may open agent streams');
  const refused = gate.refusal('/controller.api.Controller/Status', x509(emptyAgent.cert).raw);
  t.match(refused, /^AGENT_CERTIFICATE: the caller's certificate \(\(empty subject\)\) was issued by the agent CA/);
  const operator = gate.refusal(AGENT_STREAM_METHOD, x509(empty.cert).raw);
  t.match(operator, /^NOT_AN_AGENT: .*the caller's certificate \(\(empty subject\)\) was not/, 'a certificate of another CA opens no agent stream');
});

void t.test("an agent's own certificate with an empty subject is refused at its start with the reason, not a TypeError", async (t) => {
  t.throws(() => certificateIdentity(fs.readFileSync(emptyAgent.cert), emptyAgent.cert), { code: 'IDENTITY', message: /expected a subject CN \(the agent id\) in .*empty-agent\.crt, found subject ""/ });
});
