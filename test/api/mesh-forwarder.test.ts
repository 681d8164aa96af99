/**
 * MeshForwarder keeps ForwardToLeader's contract: a forward given up (on-leader.ts's signal,
 * whileLeaderHeard once the leader is silent for the budget) is cancelled, not left open toward
 * the leader until the client's deadline, where it could still be applied long after the client
 * moved on. The mesh's forwards have run under whileLeaderHeard since they got leaderHeardAt.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { forwardKeepalive } from '../../src/api/forward-keepalive.js';
import { MeshForwarder } from '../../src/api/mesh-forwarder.js';
import { meshServiceDefinition } from '../../src/api/mesh-proto.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { FakeConsensus } from './fake-consensus.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a mesh forward given up for its leader\'s silence is cancelled at the leader, not held to the client\'s deadline', async (t) => {
  // A leader that takes the Apply and never answers (frozen after reading it, or just slow).
  const calls: grpc.ServerUnaryCall<unknown, unknown>[] = [];
  const cancelled: number[] = [];
  const server = new grpc.Server();
  server.addService(meshServiceDefinition().service, {
    Apply: (call: grpc.ServerUnaryCall<unknown, unknown>) => {
      const n = calls.push(call);
      call.on('cancelled', () => cancelled.push(n));
    },
  });
  const [wanted] = await freePorts(1);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${wanted!}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const fwd = new MeshForwarder(grpc.credentials.createInsecure(), forwardKeepalive(1000));
  t.teardown(() => {
    fwd.close();
    server.forceShutdown();
  });
  const budgetMs = 300;
  const onLeader = onLeaderOf({
    id: 'c1',
    host: new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] }),
    addressOf: () => `127.0.0.1:${port}`,
    forwarder: fwd,
    forwardBudgetMs: budgetMs,
    // Nothing heard from the leader: the forward is given up once the budget is spent.
    leaderHeardAt: () => null,
  });
  const req = { resources: Buffer.from('[]'), clientId: 'client-1', clientSeq: 1, forwarded: false };
  const local = (): Promise<never> => Promise.reject(new Error('not the leader'));
  const outcome = await onLeader('Apply', req, Date.now() + 30_000, local).catch((e: unknown) => e);
  t.ok(outcome instanceof ServiceFailure, 'the client is answered');
  t.match(outcome, { code: 'NO_LEADER', message: /has not reached leader c2/ }, 'NO_LEADER: try another controller');
  t.ok(calls.length >= 1, 'the leader received the forward');
  // Each forward the follower gave up is gone from the leader too (its deadline is 30 s away).
  await waitFor(() => cancelled.length === calls.length, 'every given-up forward to be cancelled at the leader', 3000);
  t.equal(cancelled.length, calls.length, `${cancelled.length} of ${calls.length} forwards cancelled`);
});
