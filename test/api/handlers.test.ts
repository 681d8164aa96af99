/**
 * The API's handlers against a fake consensus port (fake-consensus.ts): no Raft, no sockets.
 * What only the leader serves runs here or is forwarded once; leadership moving under a request
 * is retried until the deadline; every error leaves with one code.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { HostError } from '../../src/api/consensus-port.js';
import { controllerService } from '../../src/api/controller-service.js';
import { kvOps, type ReadRoom } from '../../src/api/kv-ops.js';
import { KvSessions } from '../../src/api/kv-session-service.js';
import { onLeaderOf, type ForwardToLeader } from '../../src/api/on-leader.js';
import { ServiceFailure, toServiceFailure } from '../../src/api/service-error.js';
import type { PutRequestMsg } from '../../src/api/wire-types.js';
import { RaftError } from '../../src/raft/index.js';
import { decodeCommand, encodeCommand } from '../../src/statemachine/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { FakeConsensus } from './fake-consensus.js';

interface Forwarded {
  readonly address: string;
  readonly method: string;
  readonly request: object;
}

function forwarder(answer: unknown): ForwardToLeader & { readonly calls: Forwarded[] } {
  const calls: Forwarded[] = [];
  return {
    calls,
    call: <Res>(address: string, method: string, request: object): Promise<Res> => {
      calls.push({ address, method, request });
      return Promise.resolve(answer as Res);
    },
  };
}

function setup(leader: string | null, answer: unknown = { revision: 99 }) {
  const port = new FakeConsensus('c1', { leader, voters: ['c1', 'c2', 'c3'] });
  const fwd = forwarder(answer);
  const addressOf = (id: string): string | null => `${id}.example:7000`;
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf, forwarder: fwd });
  return { port, fwd, kv: kvOps(port, port.sm, onLeader) };
}

function put(key: string, value: string, extra: Partial<PutRequestMsg> = {}): PutRequestMsg {
  return { key, value: Buffer.from(value), hasIfRevision: false, ifRevision: 0, client: { id: 'cl', seq: 1 }, forwarded: false, ...extra };
}

const soon = (): number => Date.now() + 2000;

void t.test('a put on the leader is proposed once, applied, and answered with its revision', async (t) => {
  const { port, fwd, kv } = setup('c1');
  t.strictSame(await kv.put(put('k', 'v'), soon()), { revision: 1 });
  t.equal(port.proposals.length, 1, 'one proposal');
  const cmd = decodeCommand(port.proposals[0] as Uint8Array);
  t.match(cmd, { command: { kind: 'kv', op: 'put', key: 'k', value: new TextEncoder().encode('v') }, client: { id: 'cl', seq: 1 } }, 'the command carries the client ref');
  t.same(port.sm.kv.get('k')?.value, new TextEncoder().encode('v'), 'values are bytes');
  t.equal(fwd.calls.length, 0, 'nothing forwarded');
});

void t.test('a state-machine refusal is the answer, not a retry', async (t) => {
  const { port, kv } = setup('c1');
  await kv.put(put('k', 'v'), soon());
  const err = await kv.put(put('k', 'w', { hasIfRevision: true, ifRevision: 7, client: { id: 'cl', seq: 2 } }), soon()).catch((e: unknown) => e);
  t.match(err, { name: 'ServiceFailure', code: 'CAS_FAILED', message: /current revision 1/ });
  t.equal(port.proposals.length, 2, 'proposed once each');
});

void t.test('leadership moving under a proposal: retried, then forwarded once to the new leader', async (t) => {
  const { port, fwd, kv } = setup('c1');
  port.proposeFailures.push(new HostError('NOT_LEADER', 'entry 1 was replaced by a newer leader; retry', 'c2'));
  // The refusal comes first; by the retry the port knows c2 leads.
  const answer = kv.put(put('k', 'v'), soon());
  port.setLeader('c2');
  t.strictSame(await answer, { revision: 99 }, "the new leader's answer");
  t.equal(fwd.calls.length, 1);
  t.match(fwd.calls[0], { address: 'c2.example:7000', method: 'put', request: { key: 'k', forwarded: false } });
  t.equal(port.proposals.length, 0, 'nothing proposed here');
});

void t.test("the core's refusals of a non-leader are read as leader errors too", async (t) => {
  const { port, kv } = setup('c1');
  port.proposeFailures.push(new RaftError('TRANSFER_IN_PROGRESS', 'leadership is being transferred to c2', 'c1'));
  port.proposeFailures.push(new RaftError('NOT_LEADER', 'c1 knows no leader'));
  t.strictSame(await kv.put(put('k', 'v'), soon()), { revision: 1 }, 'retried until it could propose');
  t.equal(port.proposals.length, 1);
});

void t.test("the leader's bound of uncommitted bytes: RESOURCE_EXHAUSTED at once, saying to retry", async (t) => {
  const { port, fwd, kv } = setup('c1');
  port.proposeFailures.push(new RaftError('PROPOSAL_DROPPED', 'too many bytes of writes waiting to commit on the leader (800 of 1000, this write 400); retry once earlier writes commit', 'c1'));
  const started = Date.now();
  const err = await kv.put(put('k', 'v'), soon()).catch((e: unknown) => e);
  const failure = toServiceFailure(err);
  t.equal(failure.code, 'RESOURCE_EXHAUSTED');
  t.match(failure.message, /too many bytes of writes waiting to commit on the leader \(800 of 1000.*retry/);
  t.ok(Date.now() - started < 1000, 'answered at once, not retried until the deadline');
  t.equal(port.proposals.length, 0, 'nothing proposed');
  t.equal(fwd.calls.length, 0, 'nothing forwarded');
});

void t.test('a forwarded request that finds no leader here is refused, never forwarded again', async (t) => {
  const { fwd, kv } = setup('c2');
  const err = await kv.put(put('k', 'v', { forwarded: true }), soon()).catch((e: unknown) => e);
  t.match(err, { name: 'ServiceFailure', code: 'NOT_LEADER', message: /c1 is not the leader \(leader is c2\)/ });
  t.equal(fwd.calls.length, 0);
});

void t.test('no leader before the deadline: NO_LEADER', async (t) => {
  const { fwd, kv } = setup(null);
  const err = await kv.put(put('k', 'v'), Date.now() + 50).catch((e: unknown) => e);
  t.match(err, { name: 'ServiceFailure', code: 'NO_LEADER' });
  t.equal(fwd.calls.length, 0);
});

void t.test('ops55: a deadline already past on arrival (a client timeout of 50 ms or less) says so, not that there is no leader', async (t) => {
  const { fwd, kv } = setup('c2');
  const spent = /^the request's deadline had passed when this controller took it up, before any leader was asked \(a controller keeps the last 50ms of the client's timeout to answer in\): give the client a longer timeout$/;
  t.match(await kv.put(put('k', 'v'), Date.now() - 1).catch((e: unknown) => e), { code: 'NO_LEADER', notProposed: true, message: spent }, 'a write');
  t.match(await kv.get({ key: 'k', serializable: false }, Date.now() - 1).catch((e: unknown) => e), { code: 'NO_LEADER', notProposed: true, message: spent }, 'a linearizable read');
  t.equal(fwd.calls.length, 0, 'nothing forwarded');
});

void t.test('a linearizable get passes the read barrier, and a barrier lost to a leader change is retried', async (t) => {
  const { port, kv } = setup('c1');
  await kv.put(put('k', 'v'), soon());
  port.readFailures.push(new HostError('NO_LEADER', 'leader changed during the read; retry'));
  const got = await kv.get({ key: 'k', serializable: false }, soon());
  t.strictSame({ ...got, value: got.value.toString() }, { key: 'k', value: 'v', revision: 1 });
  t.equal(port.readBarriers, 2, 'the lost barrier and the one that passed');
  await kv.get({ key: 'k', serializable: true }, soon());
  t.equal(port.readBarriers, 2, 'a serializable get has no barrier');
  t.match(await kv.get({ key: 'nope', serializable: true }, soon()).catch((e: unknown) => e), { code: 'NOT_FOUND' });
});

void t.test('a get given room reads its value after its barrier, when the room lets it, and is counted at that size: a value replaced while it waits is the one it answers', async (t) => {
  const { port, kv } = setup('c1');
  await kv.put(put('k', 'old'), soon());
  const asked: { barriers: number; read: () => void }[] = [];
  const counted: number[] = [];
  const room: ReadRoom = (read, bytesOf) =>
    new Promise((resolve) =>
      asked.push({
        barriers: port.readBarriers,
        read: () => {
          const value = read();
          counted.push(bytesOf(value));
          resolve(value);
        },
      }),
    );
  const got = kv.get({ key: 'k', serializable: false }, soon(), room);
  await waitFor(() => asked.length === 1, 'the get asked for room', 2000);
  t.equal(asked[0]?.barriers, 1, 'after its read barrier');
  await kv.put(put('k', 'newer value', { client: { id: 'cl', seq: 2 } }), soon());
  asked[0]?.read();
  const answer = await got;
  t.equal(answer.value.toString(), 'newer value', 'read when the room let it');
  t.equal(answer.revision, 2);
  t.strictSame(counted, [11], "counted at its value's size");
  const missing = kv.get({ key: 'nope', serializable: true }, soon(), room);
  await waitFor(() => asked.length === 2, 'the second get asked for room', 2000);
  asked[1]?.read();
  t.match(await missing.catch((e: unknown) => e), { code: 'NOT_FOUND' });
  t.strictSame(counted, [11, 0], 'a missing key counts no value');
});

void t.test('every way of saying "not the leader" leaves the API with one code', async (t) => {
  const codeOf = (err: unknown): string => toServiceFailure(err).code;
  t.equal(codeOf(new HostError('NOT_LEADER', 'x', 'c2')), 'NOT_LEADER');
  t.equal(codeOf(new HostError('NO_LEADER', 'x')), 'NO_LEADER');
  t.equal(codeOf(new RaftError('NOT_LEADER', 'x', 'c2')), 'NOT_LEADER');
  t.equal(codeOf(new RaftError('NOT_LEADER', 'x')), 'NO_LEADER', 'no hint: nobody leads');
  t.equal(codeOf(new RaftError('TRANSFER_IN_PROGRESS', 'x', 'c1')), 'NOT_LEADER');
  t.equal(codeOf(new HostError('STORAGE_FAILED', 'x')), 'INTERNAL');
  t.equal(codeOf(new RaftError('CONF_CHANGE_PENDING', 'x')), 'CONF_CHANGE_PENDING');
  t.equal(codeOf(new RaftError('PROPOSAL_DROPPED', 'x', 'c1')), 'RESOURCE_EXHAUSTED');
  t.equal(codeOf(new ServiceFailure('CAS_FAILED', 'x')), 'CAS_FAILED');
});

/** Calls one unary handler of the service as grpc-js would. */
function callUnary(svc: grpc.UntypedServiceImplementation, method: string, request: object): Promise<unknown> {
  const handler = svc[method] as (call: object, cb: (err: unknown, res?: unknown) => void) => void;
  return new Promise((resolve, reject) => handler({ request, getDeadline: () => Date.now() + 2000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The client API over `port`, as controller c1 serves it (c3 not heard from). */
function serviceOn(port: FakeConsensus): grpc.UntypedServiceImplementation {
  return controllerService({
    id: 'c1',
    clusterName: 'test',
    version: '0.0.0',
    host: port,
    stateMachine: port.sm,
    peerHeard: (id) => id !== 'c3',
    addressOf: () => null,
    forwarder: forwarder(null),
    listControllers: () => ({ controllers: [], stale: false, answeredBy: 'c1', staleReason: '', otherClusters: '' }),
    audit: {
      page: () => Promise.resolve({ events: [], last: null }),
      end: () => Promise.resolve(null),
      follow: () => () => undefined,
      dropped: () => null,
      followDropped: () => () => undefined,
    },
    defaultTimeoutMs: 2000,
    clusterId: () => '00000000000000aa',
    commitStallLimitMs: 1000,
    raftHeartbeatIntervalMs: 100,
    sessions: new KvSessions(),
  });
}

void t.test('membership calls go through the port: promote waits for the learner, then proposes', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'], records: true });
  await port.proposeConfChange({ type: 'add-learner', node: 'c4', context: 'c4.example:7000' });
  port.recordIncarnation('c4', '00000000000000c4');
  port.proposals.length = 0;
  const svc = serviceOn(port);
  port.match.set('c4', 10_000);
  t.match(await callUnary(svc, 'MemberPromote', { id: 'c3', forwarded: false }), { unchanged: true, detail: 'c3 is already a voter; nothing changed' });
  t.match(await callUnary(svc, 'MemberPromote', { id: 'c9', forwarded: false }).catch((e: unknown) => e), { details: 'c9 is not a member' });
  t.strictSame(await callUnary(svc, 'MemberPromote', { id: 'c4', forwarded: false }), { voters: ['c1', 'c2', 'c3', 'c4'], learners: [], unchanged: false, detail: '' });
  t.strictSame(port.proposals, [{ type: 'promote', node: 'c4', context: '' }]);
  const status = (await callUnary(svc, 'Status', {})) as Record<string, unknown>;
  t.match(status, { id: 'c1', leader: 'c1', role: 'leader', voters: ['c1', 'c2', 'c3', 'c4'], cluster: 'test', version: '0.0.0', clusterId: '00000000000000aa', commitStallMs: 0, commitStalled: false });
  t.equal(status['clusterVersion'], '0.1', 'a log that never set the cluster version is at the base');
  port.sm.apply(port.sm.appliedIndex + 1, encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.2' }));
  t.match(await callUnary(svc, 'Status', {}), { clusterVersion: '0.2' }, 'the committed cluster version, as applied here');
  port.stallMs = 1500;
  t.match(await callUnary(svc, 'Status', {}), { commitStallMs: 1500, commitStalled: true }, 'a commit stall past the limit is reported as such');
  port.stallMs = 0;
  const toSilent = await callUnary(svc, 'LeaderTransfer', { target: 'c3', forwarded: false }).catch((e: unknown) => e);
  t.match(toSilent, { code: grpc.status.FAILED_PRECONDITION, details: /c3 has not been heard from within an election timeout: a transfer to it would leave the cluster without a leader/ }, 'attack round 10 (B5): no transfer to a voter not heard from');
  t.strictSame(port.transfers, [], 'and none was started');
  t.strictSame(await callUnary(svc, 'LeaderTransfer', { target: 'c1', forwarded: false }), { leader: 'c1', unchanged: true }, 'ops55: a transfer to the leader itself says nothing changed');
  t.strictSame(port.transfers, [], 'and starts no transfer');
  t.strictSame(await callUnary(svc, 'LeaderTransfer', { target: 'c2', forwarded: false }), { leader: 'c2' });
  t.strictSame(port.transfers, ['c2']);
  const alone = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'], records: true });
  const lone = await callUnary(serviceOn(alone), 'LeaderTransfer', { target: '', forwarded: false }).catch((e: unknown) => e);
  t.match(lone, { code: grpc.status.FAILED_PRECONDITION, details: 'c1 is the only voter: there is no other voter to hand leadership to (add one first: ctl member add ID ADDRESS)' }, 'ops55: the only voter says so, not that no voter took over in time');
  t.strictSame(alone.transfers, [], 'and starts no transfer');
  const report = await callUnary(svc, 'ReportStatus', { member: 'c2', status: 'offline', reason: 'x', reporter: 'c3', forwarded: false }).catch((e: unknown) => e);
  t.match(report, { code: grpc.status.PERMISSION_DENIED, details: /controller-to-controller call: it is served by controller\.peer\.RaftPeer\/ReportStatus, for peer certificates only/ }, 'ReportStatus on the client API is refused (PERMISSION_DENIED)');
});
