/**
 * Identity and authentication on the wire: envelopes carry the sender's cluster id and
 * incarnation, refusals travel back with their code, and with TLS only a peer certificate of
 * the claimed sender may call peer RPCs.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { judgeBatch, judgeEnvelope, judgePing, helloReply, type AcceptanceView, type HelloAsk, type PeerEnvelope, type Refusal, type RefusalCode } from '../../src/identity/index.js';
import type { Message } from '../../src/raft/messages.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { mutualTlsCredentials, tlsPeerAuth, type TlsFiles } from '../../src/transport/credentials.js';
import { askPeers } from '../../src/transport/hello-client.js';
import { memberKeyRefusal } from '../../src/transport/member-key-gate.js';
import { certificatePeerAuth, ownCertificateProblem, type AuthenticatedCall } from '../../src/transport/peer-auth.js';
import type { TransportIdentity } from '../../src/transport/peer-identity.js';
import { AnsweredByOtherError } from '../../src/transport/errors.js';
import { refusalOf } from '../../src/transport/refusal-status.js';
import { raftPeerMethod, raftPeerService } from '../../src/transport/wire.js';
import { CertMaker } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait-for.js';
import { partialPeer, startNode, type TestNode } from './harness.js';

const INC = (n: number): string => n.toString(16).padStart(16, '0');
const CLUSTER = '00000000000000aa';

interface Recorded {
  readonly identity: TransportIdentity;
  readonly heard: PeerEnvelope[];
  readonly refused: { peer: string; refusal: Refusal }[];
  readonly refusedBy: { peer: string; code: RefusalCode | null; details: string }[];
  readonly reports: string[];
  readonly asks: HelloAsk[];
}

const EMPTY_ASK: HelloAsk = { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null };

/** A node's identity over a fixed members table: c1..c3 recorded as INC(1..3) in CLUSTER. */
function identityOf(self: string, incarnation: string, clusterId: string | null = CLUSTER): Recorded {
  const rows: Record<string, string> = { n1: INC(1), n2: INC(2), n3: INC(3) };
  const view: AcceptanceView = {
    self,
    clusterName: 'test',
    identity: { memberId: self, incarnation, clusterId, origin: 'bootstrap', recorded: true, creationSeen: true, creation: null },
    term: 3,
    lastIndex: 10,
    members: { get: (id) => (id in rows ? { incarnation: rows[id]!, role: 'voter', address: '' } : null), wasRemoved: (i) => i === INC(99), clusterId },
    configured: () => false,
  };
  const r: Recorded = {
    heard: [],
    refused: [],
    refusedBy: [],
    reports: [],
    asks: [],
    identity: {
      envelope: (to) => ({ clusterId: clusterId ?? '', incarnation, toIncarnation: rows[to] ?? '', creation: '', boot: '' }),
      judgeEnvelope: (env) => judgeEnvelope(view, env),
      judgeBatch: (env, ms) => judgeBatch(view, env, ms),
      judgePing: (env) => judgePing(view, env),
      noteHeard: (env) => void r.heard.push(env),
      onRefused: (peer, refusal) => void r.refused.push({ peer, refusal }),
      onRefusedBy: (peer, code, details) => void r.refusedBy.push({ peer, code, details }),
      hello: (from, ask) => {
        r.asks.push(ask);
        return helloReply({ identity: view.identity, members: view.members, lastIndex: 10, appliedIndex: 9, heardFrom: () => null, initialNodes: [{ id: 'n1', address: '127.0.0.1:1' }] }, from, ask);
      },
      reportStatus: async (from, report) => {
        r.reports.push(`${from}:${report.member}:${report.status}`);
        return true;
      },
    },
  };
  return r;
}

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

async function node(t: Test, id: string, rec: Recorded, tls?: TlsFiles): Promise<TestNode> {
  const n = await startNode({
    id,
    ...(tls ? { credentials: mutualTlsCredentials(tls) } : {}),
    options: { identity: rec.identity, ...(tls ? { auth: tlsPeerAuth(tls) } : {}) },
  });
  t.teardown(() => n.stop());
  return n;
}

const heartbeat = (from: string, to: string): Message => ({ type: 'Heartbeat', from, to, term: 3, commit: 1, context: '' });
const ack = (from: string, to: string): Message => ({ type: 'AppendResp', from, to, term: 3, reject: false, index: 5, rejectHint: 0, hintTerm: 0 });

/** n1 (identity `r1`) sends n2 (INC(2) in CLUSTER) a heartbeat: n2's refusal as n1 heard it, and what n2 received. */
async function heartbeatRefused(t: Test, r1: Recorded): Promise<{ refusal: Recorded['refusedBy'][number] | undefined; received: number }> {
  const n1 = await node(t, 'n1', r1);
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)));
  n1.transport.setPeer('n2', n2.address);
  n1.transport.send([heartbeat('n1', 'n2')]);
  await waitFor(() => r1.refusedBy.length > 0, 'the refusal');
  return { refusal: r1.refusedBy[0], received: n2.received.length };
}


void t.test('envelopes carry cluster id and incarnation, and the receiver hears them', async (t) => {
  const r1 = identityOf('n1', INC(1));
  const r2 = identityOf('n2', INC(2));
  const n1 = await node(t, 'n1', r1);
  const n2 = await node(t, 'n2', r2);
  n1.transport.setPeer('n2', n2.address);
  n1.transport.send([heartbeat('n1', 'n2')]);
  await waitFor(() => n2.received.length === 1, 'delivery');
  t.match(r2.heard[0], { from: 'n1', clusterId: CLUSTER, incarnation: INC(1), toIncarnation: INC(2), clusterName: 'test' });
  await n1.transport.ping('n2', new Uint8Array([7]), 5000);
  t.ok(r1.heard.some((e) => e.from === 'n2' && e.incarnation === INC(2)), 'the pinger hears the ponger');
});

void t.test('messages held back while the cluster id is recorded are logged at info; a vote refused by a rule, at warn', async (t) => {
  const dropping = (why: string, rule: 5 | null): Recorded => {
    const r = identityOf('n2', INC(2));
    return { ...r, identity: { ...r.identity, judgeBatch: (_env, ms) => ({ accept: true, deliver: [], dropped: ms.map((message) => ({ message, why, rule })), adopt: null, creationSeen: true }) } };
  };
  const n1 = await node(t, 'n1', identityOf('n1', INC(1)));
  const adopting = await node(t, 'n2', dropping('recording the cluster id first', null));
  n1.transport.setPeer('n2', adopting.address);
  n1.transport.send([heartbeat('n1', 'n2')]);
  await waitFor(() => adopting.notes.length > 0, 'the note');
  t.match(adopting.notes[0], { obj: { from: 'n1', type: 'Heartbeat' }, msg: 'not answering Heartbeat from n1: recording the cluster id first' });
  t.same(adopting.warnings, [], 'every member of a new cluster does this once: no warning');
  const refusing = await node(t, 'n3', dropping('n3 does not vote until cluster aa has recorded its incarnation', 5));
  n1.transport.setPeer('n3', refusing.address);
  n1.transport.send([{ ...heartbeat('n1', 'n3') }]);
  await waitFor(() => refusing.warnings.length > 0, 'the warning');
  t.match(refusing.warnings[0], { msg: /^not answering Heartbeat from n1: n3 does not vote/ });
});

void t.test("a refused batch is refused on both sides, with the refusal's code", async (t) => {
  const r1 = identityOf('n1', INC(11)); // a replaced data dir: n1 is recorded as INC(1)
  const r2 = identityOf('n2', INC(2));
  const n1 = await node(t, 'n1', r1);
  const n2 = await node(t, 'n2', r2);
  n1.transport.setPeer('n2', n2.address);
  n1.transport.send([ack('n1', 'n2')]);
  await waitFor(() => r1.refusedBy.length > 0, 'the sender to learn of the refusal');
  t.equal(n2.received.length, 0, 'nothing delivered');
  t.match(r2.refused[0], { peer: 'n1', refusal: { code: 'SUPERSEDED_INCARNATION' } });
  t.match(r1.refusedBy[0], { peer: 'n2', code: 'SUPERSEDED_INCARNATION', details: /recorded as incarnation 0000000000000001, the sender runs 000000000000000b/ });
  await t.rejects(n1.transport.ping('n2', new Uint8Array(0), 5000), /PERMISSION_DENIED/, 'its pings are refused too');
  t.equal(n2.transport.stats().refused >= 2, true);
});

void t.test("a pong from a data dir the cluster did not record for the peer is another process answering at its address, not a lost ping", async (t) => {
  const r1 = identityOf('n1', INC(1));
  const r2 = identityOf('n2', INC(22)); // n2's address answered by a replaced data dir: n2 is recorded as INC(2)
  const n1 = await node(t, 'n1', r1);
  const n2 = await node(t, 'n2', r2);
  n1.transport.setPeer('n2', n2.address);
  const err: unknown = await n1.transport.ping('n2', new Uint8Array(0), 5000).then(
    () => null,
    (e: unknown) => e,
  );
  // The membership driver counts it as a dial failure (membership.md, a member nobody can dial),
  // where RPC_FAILED (failed on an open connection) would say our dials to n2 work.
  t.ok(err instanceof AnsweredByOtherError, `an AnsweredByOtherError, found ${String(err)}`);
  t.match(err, { code: 'ANSWERED_BY_OTHER', peer: 'n2', address: n2.address, refusal: 'SUPERSEDED_INCARNATION', detail: /refused the pong: SUPERSEDED_INCARNATION: n2 is recorded as incarnation 0000000000000002/ });
  t.match(r1.refused, [{ peer: 'n2', refusal: { code: 'SUPERSEDED_INCARNATION' } }], 'the refusal is reported once, as before');
  t.equal(r1.heard.filter((e) => e.from === 'n2').length, 0, 'nothing heard from it');
});

void t.test('a node of another cluster (same file) is refused', async (t) => {
  const { refusal, received } = await heartbeatRefused(t, identityOf('n1', INC(1), '00000000000000bb'));
  t.match(refusal, { code: 'CLUSTER_ID', details: /n2 belongs to cluster 00000000000000aa, n1 to cluster 00000000000000bb/ });
  t.equal(received, 0);
});

/** A ping's failure, or null when it was answered. */
async function pingFailure(from: TestNode, to: string): Promise<unknown> {
  return from.transport.ping(to, new Uint8Array(0), 5000).then(
    () => null,
    (e: unknown) => e,
  );
}

// A refusal of our ping marked as coming from another member or another cluster says that what
// answers at the peer's address is not the peer: the membership driver counts it as a dial
// failure (membership.md, a member nobody can dial), where RPC_FAILED says our dials work.
void t.test('a ping refused as misdirected by the member that answers at the address is another process answering there, naming it', async (t) => {
  const r1 = identityOf('n1', INC(1));
  const n1 = await node(t, 'n1', r1);
  const n3 = await node(t, 'n3', identityOf('n3', INC(3)));
  n1.transport.setPeer('n2', n3.address); // n2's address is taken by n3
  for (const attempt of [1, 2]) {
    const err = await pingFailure(n1, 'n2');
    t.ok(err instanceof AnsweredByOtherError, `ping ${attempt}: an AnsweredByOtherError, found ${String(err)}`);
    t.match(err, {
      code: 'ANSWERED_BY_OTHER',
      peer: 'n2',
      address: n3.address,
      refusal: null,
      notAddressee: { cause: 'MISDIRECTED', answeredAs: 'n3' },
      detail: /^it is n3, which refused the ping as misdirected: INVALID_ARGUMENT: misdirected: expected to="n3", found "n2"$/,
    });
  }
  t.same(r1.refusedBy, [], 'no refusal of our identity reported');
});

void t.test("a ping refused for our cluster id is another cluster's node answering at the address, and the refusal is reported as before", async (t) => {
  const r1 = identityOf('n1', INC(1), '00000000000000bb');
  const n1 = await node(t, 'n1', r1);
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)));
  n1.transport.setPeer('n2', n2.address);
  const err = await pingFailure(n1, 'n2');
  t.ok(err instanceof AnsweredByOtherError, `an AnsweredByOtherError, found ${String(err)}`);
  t.match(err, {
    code: 'ANSWERED_BY_OTHER',
    peer: 'n2',
    address: n2.address,
    refusal: null,
    notAddressee: { cause: 'CLUSTER_ID' },
    detail: /^it is a node of another cluster, which refused the ping: PERMISSION_DENIED: CLUSTER_ID: cluster id mismatch: n2 belongs to cluster 00000000000000aa, n1 to cluster 00000000000000bb/,
  });
  t.match(r1.refusedBy, [{ peer: 'n2', code: 'CLUSTER_ID' }], 'the refusal is reported once, as before');
  t.equal(r1.refusedBy.length, 1);
});

void t.test("a member left out of a recovery (its data dir removed, the old cluster id) hears REMOVED_MEMBER, which stops it, not CLUSTER_ID", async (t) => {
  // The recovered cluster runs a new cluster id and records n1's data dir (INC(99)) as removed.
  const { refusal, received } = await heartbeatRefused(t, identityOf('n1', INC(99), '00000000000000bb'));
  t.match(refusal, { peer: 'n2', code: 'REMOVED_MEMBER', details: /n1 runs incarnation 0000000000000063, which was removed/ });
  t.equal(received, 0);
});

void t.test('a ping refused by a node of another cluster of the same name, whose members have other ids, is that node answering at the address', async (t) => {
  // n4 is no member of the table n2 holds: without the cluster id judged first, n2 refused it as
  // an unknown sender, and n4 counted a ping lost on a working connection.
  const r4 = identityOf('n4', INC(4), '00000000000000bb');
  const n4 = await node(t, 'n4', r4);
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)));
  n4.transport.setPeer('n2', n2.address);
  const err = await pingFailure(n4, 'n2');
  t.ok(err instanceof AnsweredByOtherError, `an AnsweredByOtherError, found ${String(err)}`);
  t.match(err, { code: 'ANSWERED_BY_OTHER', peer: 'n2', notAddressee: { cause: 'CLUSTER_ID' }, detail: /CLUSTER_ID: cluster id mismatch: n2 belongs to cluster 00000000000000aa, "n4" to cluster 00000000000000bb/ });
});

void t.test("a ping refused for our own data dir, or as misdirected without the mark (an older peer) or with a mark naming the peer itself or no member id, still failed on a working connection", async (t) => {
  const r1 = identityOf('n1', INC(11)); // a replaced data dir: n1 is recorded as INC(1)
  const n1 = await node(t, 'n1', r1);
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)));
  n1.transport.setPeer('n2', n2.address);
  t.match(await pingFailure(n1, 'n2'), { code: 'RPC_FAILED', grpcCode: grpc.status.PERMISSION_DENIED, message: /SUPERSEDED_INCARNATION/ }, 'our fault, not another process');

  // A mark that is no member id (the pattern, 63 characters at most) is ignored as well.
  for (const mark of [null, 'n2', 'n 9', `n${'9'.repeat(63)}`]) {
    const peer = await partialPeer({
      HeartbeatStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        call.on('data', () => {
          const metadata = new grpc.Metadata();
          if (mark !== null) metadata.set('peer-misdirected', mark);
          call.emit('error', Object.assign(new Error('misdirected'), { code: grpc.status.INVALID_ARGUMENT, details: 'misdirected: expected to="n3", found "n2"', metadata }));
        });
      },
    });
    t.teardown(() => peer.stop());
    n1.transport.setPeer('n2', peer.address);
    t.match(await pingFailure(n1, 'n2'), { code: 'RPC_FAILED', grpcCode: grpc.status.INVALID_ARGUMENT }, `mark ${String(mark)}: read as before`);
  }
});

void t.test('a peer without the ping stream (UNIMPLEMENTED) refusing the unary ping as misdirected is read alike: another process answering there', async (t) => {
  const n1 = await node(t, 'n1', identityOf('n1', INC(1)));
  const peer = await partialPeer({
    Heartbeat: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const metadata = new grpc.Metadata();
      metadata.set('peer-misdirected', 'n3');
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'misdirected: expected to="n3", found "n2"', metadata });
    },
  });
  t.teardown(() => peer.stop());
  n1.transport.setPeer('n2', peer.address);
  const err = await pingFailure(n1, 'n2');
  t.ok(err instanceof AnsweredByOtherError, `an AnsweredByOtherError, found ${String(err)}`);
  t.match(err, { code: 'ANSWERED_BY_OTHER', peer: 'n2', refusal: null, notAddressee: { cause: 'MISDIRECTED', answeredAs: 'n3' } });
});

void t.test('the start-up question is answered whatever the asker runs, and status reports travel on the peer service', async (t) => {
  const r2 = identityOf('n2', INC(2));
  const r3 = identityOf('n3', INC(3));
  const n2 = await node(t, 'n2', r2);
  // n3 says its raft timing, as a controller does; n2 does not, as an older version.
  const n3 = await startNode({ id: 'n3', options: { identity: r3.identity, raftTiming: { electionTimeoutMs: 5000, heartbeatIntervalMs: 250 } } });
  t.teardown(() => n3.stop());
  const answers = await askPeers({
    self: 'n1',
    clusterName: 'test',
    ask: { incarnation: INC(5), clusterId: null, lastIndex: 1, joining: true, nodes: [{ id: 'n1', address: '10.0.0.1:7101' }, { id: 'n2', address: '[::1]:7102' }] },
    targets: [
      { id: 'n2', address: n2.address },
      { id: 'n3', address: n3.address },
      { id: 'n4', address: '127.0.0.1:1' },
    ],
    credentials: grpc.credentials.createInsecure(),
    deadlineMs: 3000,
  });
  t.match(answers[0], { peer: 'n2', reply: { memberId: 'n2', incarnation: INC(2), clusterId: CLUSTER, lastIndex: 10, appliedIndex: 9, you: { member: true, recorded: INC(1), removed: false } } });
  t.match(answers[1], { peer: 'n3', reply: { memberId: 'n3' }, timing: { electionTimeoutMs: 5000, heartbeatIntervalMs: 250 } });
  t.notOk('timing' in answers[0]!, 'ops55: a peer that says no timing (0) has none');
  t.match(answers[2], { peer: 'n4', error: /UNAVAILABLE/ });
  t.same(
    r2.asks,
    [{ incarnation: INC(5), clusterId: null, lastIndex: 1, joining: true, nodes: [{ id: 'n1', address: '10.0.0.1:7101' }, { id: 'n2', address: '[::1]:7102' }] }],
    'the asker says what its data dir holds, and its file',
  );
  t.equal('reply' in answers[0]! ? answers[0].reply.creationNodes : 'none', null, 'a peer of a running cluster says no initial nodes');
  const wrongName = await askPeers({ self: 'n1', clusterName: 'other', ask: EMPTY_ASK, targets: [{ id: 'n2', address: n2.address }], credentials: grpc.credentials.createInsecure(), deadlineMs: 3000 });
  t.match(wrongName[0], { error: /PERMISSION_DENIED: CLUSTER_NAME/ });
  const malformed = await new Promise<grpc.ServiceError | null>((resolve) => {
    const client = new (raftPeerService())(n2.address, grpc.credentials.createInsecure());
    const def = raftPeerMethod('Hello');
    const request = { cluster: 'test', from: 'n1', to: 'n2', incarnation: 'not-an-id', clusterId: '', lastIndex: 0, joining: false };
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
  t.equal(malformed?.code, grpc.status.INVALID_ARGUMENT, 'a malformed account of the asker is refused');
  t.match(malformed?.details, /incarnation: expected 16 hex digits/);
  t.equal(r2.asks.length, 1, 'and never reaches the node');

  const r1 = identityOf('n1', INC(1));
  const n1 = await node(t, 'n1', r1);
  n1.transport.setPeer('n2', n2.address);
  t.equal(await n1.transport.reportStatus('n2', { member: 'n3', status: 'offline', reason: 'timeout' }, 3000), true);
  t.same(r2.reports, ['n1:n3:offline']);
});

// ---- TLS: who may call peer RPCs ----------------------------------------------------------

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peer-auth-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('clients');
const peer1 = certs.makeCert('ca', 'n1', { peer: 'n1' });
const peer2 = certs.makeCert('ca', 'n2', { peer: 'n2' });
const peer3 = certs.makeCert('ca', 'n3', { peer: 'n3' });
const operator = certs.makeCert('ca', 'operator', { cn: 'n1' }); // CN equal to a member id, no peer URI
const clientCaPeer = certs.makeCert('clients', 'sneaky', { peer: 'n1' });

void t.test('any peer certificate, whichever member: for calls a member may make on behalf of another (ReportAgents)', async (t) => {
  const auth = certificatePeerAuth(fs.readFileSync(path.join(dir, 'ca.crt')), true);
  const callWith = (file: string | null): AuthenticatedCall => ({
    getAuthContext: () => ({ sslPeerCertificate: file === null ? {} : { raw: new X509Certificate(fs.readFileSync(file)).raw } }),
  });
  t.equal(auth.checkAnyPeer(callWith(peer2.cert)), null, "n2's peer certificate");
  t.equal(auth.check(callWith(peer2.cert), 'n1')?.code, 'WRONG_PEER', 'while check() still wants the claimed member');
  t.match(auth.checkAnyPeer(callWith(operator.cert)), { code: 'NOT_A_PEER', reason: /carries no URI urn:raft-controller:peer:<member-id>/ });
  t.match(auth.checkAnyPeer(callWith(clientCaPeer.cert)), { code: 'NOT_A_PEER', reason: /not issued by the controllers' CA/ });
  t.match(auth.checkAnyPeer(callWith(null)), { code: 'NOT_A_PEER', reason: /presented none/ });
});

void t.test('each certificate is judged on its own when verdicts are remembered across calls', async (t) => {
  const auth = certificatePeerAuth(fs.readFileSync(path.join(dir, 'ca.crt')), true);
  const raws = new Map([peer2.cert, operator.cert, clientCaPeer.cert].map((f) => [f, new X509Certificate(fs.readFileSync(f)).raw] as const));
  const callWith = (file: string): AuthenticatedCall => ({ getAuthContext: () => ({ sslPeerCertificate: { raw: raws.get(file)! } }) });
  const verdicts = new Set<string>();
  for (let i = 0; i < 300; i++) {
    verdicts.add(`peer2 ${auth.check(callWith(peer2.cert), 'n2')?.code ?? 'ok'}`);
    verdicts.add(`operator ${auth.check(callWith(operator.cert), 'n2')?.code ?? 'ok'}`);
    verdicts.add(`client-ca ${auth.check(callWith(clientCaPeer.cert), 'n1')?.code ?? 'ok'}`);
  }
  t.same([...verdicts], ['peer2 ok', 'operator NOT_A_PEER', 'client-ca NOT_A_PEER'], 'the same verdict for each certificate on every new call');
});

void t.test('a CA bundle in tls.ca (a rotation: old and new CA) accepts peer certificates of either', async (t) => {
  certs.makeCa('ca-next');
  const rotated = certs.makeCert('ca-next', 'n4', { peer: 'n4' });
  const bundle = Buffer.concat([fs.readFileSync(path.join(dir, 'ca.crt')), Buffer.from('\n'), fs.readFileSync(path.join(dir, 'ca-next.crt'))]);
  const auth = certificatePeerAuth(bundle, true);
  const callWith = (file: string): AuthenticatedCall => ({ getAuthContext: () => ({ sslPeerCertificate: { raw: new X509Certificate(fs.readFileSync(file)).raw } }) });
  t.equal(auth.check(callWith(peer2.cert), 'n2'), null, 'a peer certificate of the first CA');
  t.equal(auth.check(callWith(rotated.cert), 'n4'), null, 'and of the second (before: NOT_A_PEER, "not issued by the controllers\' CA")');
  t.match(auth.check(callWith(clientCaPeer.cert), 'n1'), { code: 'NOT_A_PEER' }, 'a certificate of neither is still refused');
  t.throws(() => certificatePeerAuth(Buffer.from('no certificate here'), true), /no PEM certificate/);
});

void t.test("a peer certificate acts beyond peer RPCs only while its member is one (NOT_A_MEMBER)", async (t) => {
  const auth = certificatePeerAuth(fs.readFileSync(path.join(dir, 'ca.crt')), true);
  const callWith = (file: string): AuthenticatedCall => ({ getAuthContext: () => ({ sslPeerCertificate: { raw: new X509Certificate(fs.readFileSync(file)).raw } }) });
  const members = new Set(['n1', 'n2']);
  const refusal = (method: string, file: string): string | null => memberKeyRefusal(auth, (id) => members.has(id), method, callWith(file));
  t.equal(refusal('/controller.api.Controller/Put', peer2.cert), null, "a member's key: forwarding, or ctl on its host");
  t.match(refusal('/controller.api.Controller/Put', peer3.cert), /^NOT_A_MEMBER: the caller's certificate is the peer certificate of "n3", which is not a member of this cluster \(removed, or never added\)/);
  t.match(refusal('/controller.api.Operator/MemberList', peer3.cert), /^NOT_A_MEMBER/);
  t.match(refusal('/controller.agents.Mesh/ReportAgents', peer3.cert), /^NOT_A_MEMBER/, "agents' health reports too");
  t.equal(refusal('/controller.peer.RaftPeer/Step', peer3.cert), null, 'peer RPCs judge the sender themselves (UNKNOWN_MEMBER, REMOVED_MEMBER)');
  t.equal(refusal('/grpc.health.v1.Health/Check', peer3.cert), null, 'the health check is open to all');
  t.equal(refusal('/controller.api.Controller/Put', operator.cert), null, "an operator's certificate is no member's key");
  t.equal(refusal('/controller.api.Controller/Put', clientCaPeer.cert), null, 'nor is a client CA certificate with a peer URI (it is an operator\'s)');
});

void t.test('attack round 10 (A9): with tls.client_ca set, a tls.ca certificate that is no peer certificate is refused the client API (NOT_A_CLIENT)', async (t) => {
  const auth = certificatePeerAuth(fs.readFileSync(path.join(dir, 'ca.crt')), true);
  const callWith = (file: string): AuthenticatedCall => ({ getAuthContext: () => ({ sslPeerCertificate: { raw: new X509Certificate(fs.readFileSync(file)).raw } }) });
  const refusal = (method: string, file: string, clientCa: boolean): string | null => memberKeyRefusal(auth, (id) => id === 'n1' || id === 'n2', method, callWith(file), { clientCa });
  t.match(refusal('/controller.api.Controller/Put', operator.cert, true), /^NOT_A_CLIENT: with tls\.client_ca set, the client API takes certificates of the client CA and members' peer certificates/);
  t.match(refusal('/controller.api.Operator/MemberList', operator.cert, true), /^NOT_A_CLIENT/);
  t.equal(refusal('/controller.api.Controller/Put', operator.cert, false), null, 'without a client CA, tls.ca issues the operators');
  t.equal(refusal('/controller.agents.AgentSync/Sync', operator.cert, true), null, 'agent streams are not the client API');
  t.equal(refusal('/grpc.health.v1.Health/Check', operator.cert, true), null, 'health checks are open to all');
  t.equal(refusal('/controller.api.Controller/Put', peer2.cert, true), null, "a member's peer certificate still may (forwarding, ctl on its host)");
  t.equal(refusal('/controller.api.Controller/Put', clientCaPeer.cert, true), null, "the client CA's certificates may");
});

void t.test("a node's own certificate must be its peer certificate", async (t) => {
  t.equal(ownCertificateProblem(fs.readFileSync(peer1.cert), 'n1'), null);
  t.match(ownCertificateProblem(fs.readFileSync(peer1.cert), 'n2'), /expected this node's peer certificate, with exactly one subjectAltName URI urn:raft-controller:peer:n2, found urn:raft-controller:peer:n1/);
  t.match(ownCertificateProblem(fs.readFileSync(operator.cert), 'n1'), /found none \(peers would refuse every message from this node/);
  t.match(ownCertificateProblem(Buffer.from('not a certificate'), 'n1'), /expected a PEM certificate, found:/);
});

/** A Step from "n1" carrying a forged Append, with the given client certificate; the error or null. */
function forgedAppend(address: string, files: TlsFiles, ca: string): Promise<grpc.ServiceError | null> {
  const creds = grpc.credentials.createSsl(fs.readFileSync(ca), fs.readFileSync(files.key), fs.readFileSync(files.cert));
  const client = new (raftPeerService())(address, creds);
  const def = raftPeerMethod('Step');
  const append: Message = { type: 'Append', from: 'n1', to: 'n2', term: 3, prevIndex: 0, prevTerm: 0, entries: [{ term: 3, index: 1, kind: 'normal', data: new Uint8Array([1]) }], commit: 1, commitOnly: false };
  const request = { cluster: 'test', from: 'n1', to: 'n2', clusterId: CLUSTER, incarnation: INC(1), messages: [encodeMessage(append)] };
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

void t.test('with TLS, only the peer certificate of the claimed sender may call peer RPCs', async (t) => {
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)), peer2);
  const byOperator = await forgedAppend(n2.address, operator, peer2.ca);
  t.equal(byOperator?.code, grpc.status.PERMISSION_DENIED, 'the operator certificate, CN=n1, is refused');
  t.equal(byOperator && refusalOf(byOperator), 'NOT_A_PEER');
  t.match(byOperator?.details, /not a peer certificate: it carries no URI urn:raft-controller:peer:<member-id>/);
  const byOtherPeer = await forgedAppend(n2.address, peer3, peer2.ca);
  t.equal(byOtherPeer && refusalOf(byOtherPeer), 'WRONG_PEER', "n3's peer certificate cannot speak as n1");
  t.match(byOtherPeer?.details, /member n3's, but the message claims to come from "n1"/);
  t.equal(n2.received.length, 0, 'nothing was delivered');
  const own = await forgedAppend(n2.address, peer1, peer2.ca);
  t.equal(own, null, `n1's own certificate is accepted${own ? `: ${own.details}` : ''}`);
  t.equal(n2.received.length, 1);
});

void t.test("attack round 16: an unproven sender's claim is logged cut, under one rate-limit key, however many it makes up", async (t) => {
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)), peer2);
  // Before: each claim its own key in the warnings' map and its own log line, all 100,000
  // characters of it (3 MB claims took a follower to 3.3 GB and wrote 3.3 GB of log in 40 s).
  const claims = Array.from({ length: 20 }, (_, i) => `n${i}-`.padEnd(100_000, 'x'));
  const byOperator = await claimedSteps(n2.address, operator, peer2.ca, claims);
  t.same(byOperator.map((e) => e && refusalOf(e)), claims.map(() => 'NOT_A_PEER'), 'every made-up claim is refused');
  const [byOtherPeer] = await claimedSteps(n2.address, peer3, peer2.ca, ['n1'.padEnd(100_000, 'x')]);
  t.equal(byOtherPeer && refusalOf(byOtherPeer), 'WRONG_PEER');
  t.match(byOtherPeer?.details, /member n3's, but the message claims to come from "n1x+\.\.\. \(100000 chars\)"$/, 'the refusal names the claim cut');
  const lines = n2.warnings.filter((w) => w.msg.startsWith('refused peer RPC'));
  t.equal(lines.length, 2, 'one line per interval for all unproven claims of each code, NOT_A_PEER and WRONG_PEER (before: 21)');
  t.ok(lines.every((w) => JSON.stringify(w).length < 2_000), `each line holds the claim cut (longest: ${Math.max(...lines.map((w) => JSON.stringify(w).length))} characters)`);
  t.match(lines[0]?.obj, { from: /^n0-x+\.\.\. \(100000 chars\)$/ }, 'the first claim, cut, is what the line shows');
});

/** Step calls with no messages, each claiming to come from one of `claims`, over one connection; each error or null. */
async function claimedSteps(address: string, files: TlsFiles, ca: string, claims: readonly string[]): Promise<(grpc.ServiceError | null)[]> {
  const creds = grpc.credentials.createSsl(fs.readFileSync(ca), fs.readFileSync(files.key), fs.readFileSync(files.cert));
  const client = new (raftPeerService())(address, creds);
  const def = raftPeerMethod('Step');
  const errors: (grpc.ServiceError | null)[] = [];
  for (const from of claims) {
    const request = { cluster: 'test', from, to: 'n2', clusterId: CLUSTER, incarnation: INC(1), messages: [] };
    errors.push(await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => resolve(err ?? null))));
  }
  client.close();
  return errors;
}

void t.test('with a separate client CA, its certificates never call peer RPCs, peer URI or not', async (t) => {
  const withClients = { ...peer2, clientCa: path.join(dir, 'clients.crt') };
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)), withClients);
  const err = await forgedAppend(n2.address, clientCaPeer, peer2.ca);
  t.equal(err && refusalOf(err), 'NOT_A_PEER');
  t.match(err?.details, /was not issued by the controllers' CA/);
  t.equal(await forgedAppend(n2.address, peer1, peer2.ca), null, 'a controller certificate still works');
});

void t.test('two TLS nodes with peer certificates exchange messages and pings', async (t) => {
  const n1 = await node(t, 'n1', identityOf('n1', INC(1)), peer1);
  const n2 = await node(t, 'n2', identityOf('n2', INC(2)), peer2);
  n1.transport.setPeer('n2', n2.address);
  n1.transport.send([heartbeat('n1', 'n2')]);
  await waitFor(() => n2.received.length === 1, 'delivery over mTLS with peer certificates');
  const pong = await n1.transport.ping('n2', new Uint8Array([1]), 5000);
  t.strictSame(pong.payload, new Uint8Array([1]));
});
