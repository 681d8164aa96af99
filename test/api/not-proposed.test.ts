/**
 * A controller that refuses a write before running or forwarding it (cut off from a quorum, no
 * leader) says nothing was proposed (`not-proposed`), so the client's next attempt is no retry:
 * marked, a full exactly-once table refused it SESSION_EXPIRED (src/statemachine/dedup.ts), and a
 * new ctl whose first endpoint was a cut-off node could not write at all. The leader's refusal
 * for its bound on uncommitted bytes says so too, but not after an earlier attempt of the request
 * (a forward lost mid-call) may have been proposed: the client took that refusal as proof before.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { controllerServiceDefinition } from '../../src/api/controller-proto.js';
import { kvOps } from '../../src/api/kv-ops.js';
import { KvSessions } from '../../src/api/kv-session-service.js';
import { onLeaderOf, type ForwardToLeader } from '../../src/api/on-leader.js';
import { fromServiceError, ServiceFailure, toServiceError } from '../../src/api/service-error.js';
import { RaftError } from '../../src/raft/errors.js';
import { startFake } from '../cli/fake-controller.js';
import { decodeCommand, encodeCommand } from '../../src/statemachine/index.js';
import { FakeConsensus } from './fake-consensus.js';

const REASON = 'c2 is cut off from a quorum';
const soon = (): number => Date.now() + 2000;
const nowhere: ForwardToLeader = { call: () => Promise.reject(new ServiceFailure('NO_LEADER', 'leader at c1:1 unreachable: connection reset')) };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
}

void t.test('refused before anything was tried: flagged, and the flag travels as a trailer', async (t) => {
  const host = new FakeConsensus('c2', { leader: null, voters: ['c1', 'c2', 'c3'] });
  const onLeader = onLeaderOf({ id: 'c2', host, addressOf: (id) => `${id}:1`, forwarder: nowhere, cutOff: () => REASON });
  const err = await rejection(onLeader('put', { forwarded: false }, soon(), () => Promise.resolve('ran')));
  t.match(err, { name: 'ServiceFailure', code: 'NO_QUORUM', message: REASON, notProposed: true });
  t.same(toServiceError(err).metadata?.get('not-proposed'), ['true']);
  t.same(toServiceError(new ServiceFailure('NO_QUORUM', REASON)).metadata?.get('not-proposed'), [], 'absent otherwise');
});

void t.test('once forwarded or run here, a refusal is not flagged: the request may have been proposed', async (t) => {
  // A forward lost mid-call, then this node found itself cut off.
  const host = new FakeConsensus('c2', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  let cut = false;
  const forwarder: ForwardToLeader = {
    call: () => {
      cut = true;
      return nowhere.call('c1:1', 'put', {}, soon());
    },
  };
  const onLeader = onLeaderOf({ id: 'c2', host, addressOf: (id) => `${id}:1`, forwarder, cutOff: () => (cut ? REASON : null) });
  const err = await rejection(onLeader('put', { forwarded: false }, soon(), () => Promise.resolve('ran')));
  t.match(err, { code: 'NO_QUORUM', notProposed: false });
  // Run here, failed for a reason of its own.
  const leader = new FakeConsensus('c2', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  const here = onLeaderOf({ id: 'c2', host: leader, addressOf: (id) => `${id}:1`, forwarder: nowhere });
  t.match(await rejection(here('put', { forwarded: false }, soon(), () => Promise.reject(new ServiceFailure('NOT_LEADER', 'outcome unknown: leadership changed')))), { notProposed: false });
});

void t.test("a new client's put refused by a cut-off controller's KvSession goes to the next endpoint unmarked", async (t) => {
  const host = new FakeConsensus('c2', { leader: null, voters: ['c1', 'c2', 'c3'] });
  const onLeader = onLeaderOf({ id: 'c2', host, addressOf: (id) => `${id}:1`, forwarder: nowhere, cutOff: () => REASON });
  const sessions = new KvSessions();
  const server = new grpc.Server();
  server.addService(controllerServiceDefinition().service, { KvSession: sessions.handler(kvOps(host, host.sm, onLeader, () => REASON), 2000) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const majority = await startFake({ unary: { Put: () => ({ revision: 5 }) } });
  const client = new ControllerClient({ endpoints: [`127.0.0.1:${port}`, majority.address], timeoutMs: 2000 });
  t.teardown(async () => {
    client.close();
    server.forceShutdown();
    await majority.stop();
  });
  t.strictSame(await client.put('k', 'v'), { revision: 5 });
  t.strictSame(majority.calls.map((c) => [c.method, c.via, c.request['client']]), [['Put', 'session', { id: client.id, seq: 1, retry: false, owner: '' }]]);
});

const dropped = (): RaftError => new RaftError('PROPOSAL_DROPPED', 'too many bytes of writes waiting to commit on the leader (33554432 of 33554432, this write 1000000); retry once earlier writes commit');

void t.test("the leader's refusal for its bound on uncommitted bytes is flagged, passed on by a follower that forwarded only it", async (t) => {
  const leader = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const onLeader = onLeaderOf({ id: 'c1', host: leader, addressOf: (id) => `${id}:1`, forwarder: nowhere });
  const err = await rejection(onLeader('put', { forwarded: true }, soon(), () => Promise.reject(dropped())));
  t.match(err, { name: 'ServiceFailure', code: 'RESOURCE_EXHAUSTED', notProposed: true });
  // The follower hears the leader's answer as its forwarder decodes it.
  const answer = Object.assign(new Error('x'), toServiceError(err));
  const follower = new FakeConsensus('c2', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const forwarder: ForwardToLeader = { call: () => Promise.reject(fromServiceError(answer)) };
  const via = onLeaderOf({ id: 'c2', host: follower, addressOf: (id) => `${id}:1`, forwarder });
  t.match(await rejection(via('put', { forwarded: false }, soon(), () => Promise.resolve('ran'))), { code: 'RESOURCE_EXHAUSTED', notProposed: true });
});

void t.test('after a forward lost mid-call, the re-forward refused for the bound is not flagged: the first may have been applied', async (t) => {
  const follower = new FakeConsensus('c2', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  let forwards = 0;
  const forwarder: ForwardToLeader = {
    call: () => (++forwards === 1 ? nowhere.call('c1:1', 'put', {}, soon()) : Promise.reject(new ServiceFailure('RESOURCE_EXHAUSTED', 'too many bytes of writes waiting to commit', true))),
  };
  const onLeader = onLeaderOf({ id: 'c2', host: follower, addressOf: (id) => `${id}:1`, forwarder });
  const err = await rejection(onLeader('put', { forwarded: false }, soon(), () => Promise.resolve('ran')));
  t.equal(forwards, 2);
  t.match(err, { code: 'RESOURCE_EXHAUSTED', notProposed: false });
  t.same(toServiceError(err).metadata?.get('not-proposed'), []);
});

void t.test('after a forward lost mid-call, the write goes on marked as a retry: forwarded, or proposed here', async (t) => {
  const put = { key: 'k', value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, client: { id: 'ctl-1', seq: 1 }, forwarded: false };
  // Forwarded again: the request carries the mark the leader proposes.
  const follower = new FakeConsensus('c2', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const sent: unknown[] = [];
  const forwarder: ForwardToLeader = {
    call: <Res>(_address: string, _method: string, request: object): Promise<Res> => {
      sent.push((request as { client: unknown }).client);
      return sent.length === 1 ? nowhere.call<Res>('c1:1', 'put', {}, soon()) : Promise.resolve({ revision: 3 } as Res);
    },
  };
  const ops = kvOps(follower, follower.sm, onLeaderOf({ id: 'c2', host: follower, addressOf: (id) => `${id}:1`, forwarder }));
  t.strictSame(await ops.put(put, soon()), { revision: 3 });
  t.strictSame(sent, [{ id: 'ctl-1', seq: 1 }, { id: 'ctl-1', seq: 1, retry: true }]);
  // Led here by then: the entry carries the mark (cluster version 0.4, which every member reads).
  const node = new FakeConsensus('c2', { leader: 'c2', voters: ['c1', 'c2', 'c3'] });
  await node.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.4' }));
  node.setLeader('c1');
  const elected: ForwardToLeader = {
    call: () => {
      node.setLeader('c2');
      return nowhere.call('c1:1', 'put', {}, soon());
    },
  };
  const here = kvOps(node, node.sm, onLeaderOf({ id: 'c2', host: node, addressOf: (id) => `${id}:1`, forwarder: elected }));
  await here.put(put, soon());
  const proposed = node.proposals.at(-1);
  t.ok(proposed instanceof Uint8Array);
  t.strictSame(decodeCommand(proposed as Uint8Array).client, { id: 'ctl-1', seq: 1, retry: true });
});
