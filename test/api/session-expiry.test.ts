/**
 * Attack 37 A2 at the API: a Put marked as a retry whose client record the full dedup table has
 * dropped is answered SESSION_EXPIRED (gRPC ABORTED, final for the client's failover, exit 1),
 * nothing applied. The mark is proposed only at cluster version 0.4, which every member reads;
 * below it the entry is the one older members apply.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { classify } from '../../src/api/failover.js';
import { ApiError, exitCodeFor } from '../../src/api/errors.js';
import { kvOps } from '../../src/api/kv-ops.js';
import { meshOps } from '../../src/api/mesh-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { toServiceError } from '../../src/api/service-error.js';
import type { ClientRefMsg, PutRequestMsg } from '../../src/api/wire-types.js';
import { decodeCommand, encodeCommand, meshKind } from '../../src/statemachine/index.js';
import { FakeConsensus } from './fake-consensus.js';

const soon = (): number => Date.now() + 2000;
const MAX = 3;

function put(key: string, value: string, client: ClientRefMsg, ifRevision?: number): PutRequestMsg {
  return { key, value: Buffer.from(value), hasIfRevision: ifRevision !== undefined, ifRevision: ifRevision ?? 0, client, forwarded: false };
}

async function cluster(version: string): Promise<{ port: FakeConsensus; kv: ReturnType<typeof kvOps>; mesh: ReturnType<typeof meshOps> }> {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'], maxClients: MAX });
  await port.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version }));
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf: (id) => `${id}:1`, forwarder: { call: () => Promise.reject(new Error('not forwarded')) } });
  const mesh = meshOps({ host: port, stateMachine: port.sm, onLeader, isMember: () => true, self: 'c1' });
  return { port, kv: kvOps(port, port.sm, onLeader), mesh };
}

async function flood(kv: ReturnType<typeof kvOps>): Promise<void> {
  for (let i = 0; i < MAX; i++) await kv.put(put(`flood/${i}`, 'x', { id: `attacker-${i}`, seq: 1 }), soon());
}

void t.test('at 0.4 a retried put whose record was evicted: SESSION_EXPIRED, ABORTED, the later write stands', async (t) => {
  const { port, kv } = await cluster('0.4');
  const honest = { id: 'honest', seq: 1 };
  await kv.put(put('shared', 'honest', honest), soon());
  await kv.put(put('shared', 'third', { id: 'third', seq: 1 }), soon());
  await flood(kv);
  const err = await kv.put(put('shared', 'honest', { ...honest, retry: true }), soon()).then(
    () => null,
    (e: unknown) => e,
  );
  t.match(err, { name: 'ServiceFailure', code: 'SESSION_EXPIRED', message: /^the outcome of this write is unknown: its exactly-once record was dropped/ });
  const status = toServiceError(err);
  t.equal(status.code, grpc.status.ABORTED, 'the gRPC status a client sees');
  t.same(status.metadata?.get('error-code'), ['SESSION_EXPIRED']);
  t.equal(Buffer.from((await kv.get({ key: 'shared', serializable: true }, soon())).value).toString(), 'third');
  const proposed = port.proposals.at(-1);
  t.ok(proposed instanceof Uint8Array && decodeCommand(proposed).client?.retry === true, 'the mark went into the entry');

  const failure = classify(Object.assign(new Error(status.details ?? ''), { code: status.code, details: status.details, metadata: status.metadata }), 'c1:1');
  t.equal(failure.kind, 'final', 'a client does not re-send it elsewhere');
  t.ok(failure.kind === 'final' && failure.error instanceof ApiError && failure.error.code === 'SESSION_EXPIRED');
  t.equal(exitCodeFor(new ApiError('SESSION_EXPIRED', 'x')), 1, 'ctl exits 1');
});

void t.test('at 0.4 a retried create-if-absent whose record was evicted: SESSION_EXPIRED, not CAS_FAILED', async (t) => {
  const { kv } = await cluster('0.4');
  const lock = { id: 'locker', seq: 1 };
  await kv.put(put('lock/1', 'me', lock, 0), soon());
  await flood(kv);
  await t.rejects(kv.put(put('lock/1', 'me', { ...lock, retry: true }, 0), soon()), { code: 'SESSION_EXPIRED' });
});

void t.test('below 0.4 the mark is not proposed: older members refuse the field', async (t) => {
  const { port, kv } = await cluster('0.3');
  await kv.put(put('k', 'v', { id: 'c', seq: 1, retry: true }), soon());
  const proposed = port.proposals.at(-1);
  t.ok(proposed instanceof Uint8Array);
  t.same(decodeCommand(proposed as Uint8Array).client, { id: 'c', seq: 1 }, 'the entry an older member applies');
});

void t.test('at 0.4 a retried apply or delete of mesh resources whose record was evicted: SESSION_EXPIRED', async (t) => {
  const { port, kv, mesh } = await cluster('0.4');
  const web = { kind: 'service', name: 'web', spec: { protocol: 'http', ports: [80] } };
  const apply = (clientRetry: boolean) => ({ resources: Buffer.from(JSON.stringify([web])), clientId: 'ctl-1', clientSeq: 1, forwarded: false, clientRetry });
  await mesh.apply(apply(false), soon());
  const remove = (clientRetry: boolean) => ({ kind: 'service', name: 'web', clientId: 'ctl-2', clientSeq: 1, forwarded: false, clientRetry });
  await mesh.delete(remove(false), soon());
  await flood(kv);
  await t.rejects(mesh.delete(remove(true), soon()), { code: 'SESSION_EXPIRED' }, 'not NOT_FOUND');
  await mesh.apply({ ...apply(false), clientId: 'ctl-3' }, soon());
  await mesh.delete({ ...remove(false), clientId: 'ctl-4' }, soon());
  await flood(kv);
  await t.rejects(mesh.apply({ ...apply(true), clientId: 'ctl-3' }, soon()), { code: 'SESSION_EXPIRED' }, 'not re-applied over a later delete of another client');
  t.equal(port.sm.view(meshKind).get('service', 'web'), null, 'the delete stands');
});
