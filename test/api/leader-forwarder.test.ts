/**
 * A follower forwards writes to the leader: puts and deletes on a KvSession, everything else as
 * unary calls, always marked forwarded so the leader never forwards them again.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { MAX_SESSION_VALUE_BYTES } from '../../src/api/kv-session.js';
import { forwardKeepalive } from '../../src/api/forward-keepalive.js';
import { LeaderForwarder } from '../../src/api/leader-forwarder.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { apiFailure, deadAddress, startFake } from '../cli/fake-controller.js';

const ref = { id: 'client-1', seq: 4 };

void t.test('puts and deletes go on a session, marked forwarded, with their client ref', async (t) => {
  const leader = await startFake({ unary: { Put: () => ({ revision: 11 }), Delete: () => ({ revision: 12 }) } });
  const fwd = new LeaderForwarder(grpc.credentials.createInsecure(), forwardKeepalive(1000));
  t.teardown(async () => {
    fwd.close();
    await leader.stop();
  });
  const deadline = Date.now() + 5000;
  t.strictSame(await fwd.call(leader.address, 'put', { key: 'k', value: Buffer.from('v'), hasIfRevision: true, ifRevision: 3, client: ref, forwarded: false }, deadline), { revision: 11 });
  // A client's retry mark travels with the ref (the leader decides on it: SESSION_EXPIRED).
  t.strictSame(await fwd.call(leader.address, 'delete', { key: 'k', hasIfRevision: false, ifRevision: 0, client: { ...ref, retry: true }, forwarded: false }, deadline), { revision: 12 });
  t.strictSame(
    leader.calls.map((c) => [c.method, c.via, c.request['forwarded'], c.request['client']]),
    [
      ['Put', 'session', true, { ...ref, retry: false, owner: '' }],
      ['Delete', 'session', true, { ...ref, retry: true, owner: '' }],
    ],
  );
  t.equal(leader.calls[0]?.request['ifRevision'], 3);
});

void t.test("the leader's refusal passes through with its code", async (t) => {
  const leader = await startFake({
    unary: {
      Put: () => {
        throw apiFailure('CAS_FAILED', 'expected revision 2, found 3');
      },
    },
  });
  const fwd = new LeaderForwarder(grpc.credentials.createInsecure(), forwardKeepalive(1000));
  t.teardown(async () => {
    fwd.close();
    await leader.stop();
  });
  const err: unknown = await fwd.call(leader.address, 'put', { key: 'k', value: Buffer.from('v'), hasIfRevision: true, ifRevision: 2, client: ref }, Date.now() + 5000).catch((e: unknown) => e);
  t.ok(err instanceof ServiceFailure);
  t.match(err, { code: 'CAS_FAILED', message: 'expected revision 2, found 3' });
});

void t.test('an unreachable leader is NO_LEADER, so the caller retries', async (t) => {
  const fwd = new LeaderForwarder(grpc.credentials.createInsecure(), forwardKeepalive(1000));
  t.teardown(() => fwd.close());
  const dead = await deadAddress();
  const err: unknown = await fwd.call(dead, 'put', { key: 'k', value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, client: ref }, Date.now() + 2000).catch((e: unknown) => e);
  t.ok(err instanceof ServiceFailure);
  t.match(err, { code: 'NO_LEADER', message: /unreachable/ });
});

void t.test('large values, leaders without KvSession and other methods use unary calls', async (t) => {
  const big = await startFake({ unary: { Put: () => ({ revision: 1 }), MemberRemove: () => ({ voters: ['c1'], learners: [] }) } });
  const old = await startFake({ session: false, unary: { Delete: () => ({ revision: 2 }) } });
  const fwd = new LeaderForwarder(grpc.credentials.createInsecure(), forwardKeepalive(1000));
  t.teardown(async () => {
    fwd.close();
    await big.stop();
    await old.stop();
  });
  const deadline = Date.now() + 5000;
  await fwd.call(big.address, 'put', { key: 'k', value: Buffer.alloc(MAX_SESSION_VALUE_BYTES + 1), hasIfRevision: false, ifRevision: 0, client: ref }, deadline);
  await fwd.call(big.address, 'memberRemove', { id: 'c2' }, deadline);
  t.strictSame(await fwd.call(old.address, 'delete', { key: 'k', hasIfRevision: false, ifRevision: 0, client: ref }, deadline), { revision: 2 });
  t.strictSame(
    [...big.calls, ...old.calls].map((c) => [c.method, c.via, c.request['forwarded']]),
    [
      ['Put', 'unary', true],
      ['MemberRemove', 'unary', true],
      ['Delete', 'unary', true],
    ],
  );
});
