/**
 * The call-level CA checks across reloads (tls-in-force.ts, reloadable-auth.ts), with a separate
 * client CA so that peer RPCs ask which CA issued a certificate: a CA rotation in three reloads
 * (old, old + new, new) never refuses the peer certificate of the old CA that an open
 * connection still presents, while a CA moved from tls.ca to tls.client_ca stops making peers
 * at once; the agent gate follows tls.agent_ca the same way.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AGENT_STREAM_METHOD } from '../../src/transport/agent-ca-gate.js';
import type { AuthenticatedCall } from '../../src/transport/peer-auth.js';
import { readTlsSnapshot, type ControllerTlsFiles, type TlsSnapshot } from '../../src/transport/tls-snapshot.js';
import { TlsInForce } from '../../src/node/tls-in-force.js';
import type { GuardedListener } from '../../src/transport/guarded-listener.js';
import { CertMaker } from '../helpers/certs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-in-force-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
for (const ca of ['old', 'new', 'clients', 'agents-old', 'agents-new']) certs.makeCa(ca);
const c1 = certs.makeCert('old', 'c1', { peer: 'c1' });
const c2Old = certs.makeCert('old', 'c2-old', { peer: 'c2' });
const c2New = certs.makeCert('new', 'c2-new', { peer: 'c2' });
const agentOld = certs.makeCert('agents-old', 'edge-1');
const agentNew = certs.makeCert('agents-new', 'edge-2');
const crt = (name: string): string => path.join(dir, `${name}.crt`);

function bundle(name: string, ...cas: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat(cas.map((ca) => fs.readFileSync(crt(ca)))));
  return file;
}

function snapshot(over: Partial<ControllerTlsFiles>): TlsSnapshot {
  const files: ControllerTlsFiles = { ca: crt('old'), cert: c1.cert, key: c1.key, clientCa: crt('clients'), agentCa: crt('agents-old'), metrics: false, metricsClientCa: null, crl: null, ...over };
  const r = readTlsSnapshot(files, 'c1');
  if (!r.ok) throw new Error(r.problem.reason);
  return r.snapshot;
}

/** A call on a connection that presented `certFile`. */
function callWith(certFile: string): AuthenticatedCall {
  const raw = new X509Certificate(fs.readFileSync(certFile)).raw;
  return { getAuthContext: () => ({ sslPeerCertificate: { raw } }) };
}

const asPeer = (force: TlsInForce, certFile: string): string | null => force.peerAuth.check(callWith(certFile), 'c2')?.code ?? null;
const onAgentStream = (force: TlsInForce, certFile: string): string | null => force.agentGate!.refusal(AGENT_STREAM_METHOD, new X509Certificate(fs.readFileSync(certFile)).raw);

void t.test('a CA rotation in three reloads: the old CA\'s peer certificate keeps its calls, the new one is a peer from the second step', async (t) => {
  const force = new TlsInForce(snapshot({}), () => undefined);
  t.equal(asPeer(force, c2Old.cert), null, 'start: the old CA\'s peer certificate');
  t.equal(asPeer(force, c2New.cert), 'NOT_A_PEER', 'start: the new CA issues no peers yet');

  force.replace(snapshot({ ca: bundle('old+new.crt', 'old', 'new') }));
  t.equal(asPeer(force, c2Old.cert), null, 'old + new: the old one');
  t.equal(asPeer(force, c2New.cert), null, 'old + new: the new one');

  force.replace(snapshot({ ca: crt('new') }));
  t.equal(asPeer(force, c2New.cert), null, 'new only: the new one');
  t.equal(asPeer(force, c2Old.cert), null, 'new only: the old CA still counts for calls (its connections were made before; new ones fail the handshake)');
});

void t.test('a CA moved from tls.ca to tls.client_ca stops making peers at the reload', async (t) => {
  const force = new TlsInForce(snapshot({}), () => undefined);
  t.equal(asPeer(force, c2Old.cert), null);
  force.replace(snapshot({ ca: crt('new'), clientCa: bundle('clients+old.crt', 'clients', 'old') }));
  t.equal(asPeer(force, c2Old.cert), 'NOT_A_PEER', 'a certificate of a client CA is never a peer\'s');
  t.equal(asPeer(force, c2New.cert), null);
});

void t.test('the agent gate follows tls.agent_ca, keeping a dropped agent CA for calls', async (t) => {
  const force = new TlsInForce(snapshot({}), () => undefined);
  t.equal(onAgentStream(force, agentOld.cert), null, 'start: an agent of the old agent CA');
  t.match(onAgentStream(force, agentNew.cert), /^NOT_AN_AGENT/, 'the new agent CA is not trusted yet');
  force.replace(snapshot({ agentCa: crt('agents-new') }));
  t.equal(onAgentStream(force, agentNew.cert), null, 'after the reload: the new agent CA');
  t.equal(onAgentStream(force, agentOld.cert), null, 'and the dropped one, for calls on connections it holds');
  force.replace(snapshot({ agentCa: crt('agents-new'), clientCa: bundle('clients+agents-old.crt', 'clients', 'agents-old') }));
  t.match(onAgentStream(force, agentOld.cert), /^NOT_AN_AGENT/, 'not once that CA signs clients');
});

void t.test('the snapshot in force changes only when replace succeeds', async (t) => {
  const first = snapshot({});
  const force = new TlsInForce(first, () => undefined);
  t.equal(force.current, first);
  const next = snapshot({ ca: crt('new') });
  force.replace(next);
  t.equal(force.current, next);
});

void t.test('a listener that refuses the new material is swapped first: nothing else changes, the outgoing side included', async (t) => {
  const first = snapshot({});
  const force = new TlsInForce(first, () => undefined);
  const swapped: unknown[] = [];
  Object.defineProperty(force.credentials.client, 'swap', { value: (context: unknown) => void swapped.push(context) });
  force.bindListener({
    setTls: () => {
      throw new Error('OpenSSL refused it');
    },
  } as unknown as GuardedListener);
  t.throws(() => force.replace(snapshot({ ca: crt('new') })), /OpenSSL refused it/);
  t.equal(force.current, first, 'the snapshot in force is the old one');
  t.same(swapped, [], 'the outgoing credentials were not swapped');
  t.equal(asPeer(force, c2New.cert), 'NOT_A_PEER', 'the peer check is the old one');
});
