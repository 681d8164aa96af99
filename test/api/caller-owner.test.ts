/**
 * Whose exactly-once record a write makes (caller-owner.ts): a client certificate's identity as
 * the controller that took the request saw it, one owner for plaintext clients, carried to the
 * leader by a forward and trusted there only from a member; none below cluster version 0.5. And
 * at the API, a flood under one certificate leaves another's retry answered from the cache.
 */
import t from 'tap';
import { callerOwners, kvOwned, meshOwned, ownerSeen, PLAINTEXT_OWNER, type OwnerCall } from '../../src/api/caller-owner.js';
import { kvOps } from '../../src/api/kv-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { sessionOp } from '../../src/api/kv-session.js';
import type { ClientRefMsg, PutRequestMsg } from '../../src/api/wire-types.js';
import { decodeCommand, encodeCommand } from '../../src/statemachine/index.js';
import { FakeConsensus } from './fake-consensus.js';

const soon = (): number => Date.now() + 2000;
const MAX = 4;

/** A call as grpc-js gives it: over TLS with a certificate of `cn` (null: none), or plaintext. */
function call(tls: { readonly cn: string | null } | null, peer = '10.0.0.9:40000'): OwnerCall {
  const cert = tls === null ? undefined : { subject: tls.cn === null ? {} : { CN: tls.cn }, fingerprint256: 'AB:CD', raw: Buffer.from(tls.cn ?? 'none') };
  return { getPeer: () => peer, getAuthContext: () => (tls === null ? {} : { transportSecurityType: 'ssl', sslPeerCertificate: cert }) };
}

const at = (version: string): { supports(v: string): boolean } => ({ supports: (v) => Number(v.split('.')[1]) <= Number(version.split('.')[1]) });
const member = call({ cn: 'c2' });
const isPeer = (c: OwnerCall): boolean => c === member;

void t.test('the owner is the certificate identity the watch caps use; every plaintext client shares one', async (t) => {
  t.equal(ownerSeen(call({ cn: 'alice' })), 'cn:alice');
  t.equal(ownerSeen(call({ cn: null })), 'cert:AB:CD', 'no CN: the fingerprint');
  t.equal(ownerSeen(call(null, '10.0.0.1:1')), PLAINTEXT_OWNER);
  t.equal(ownerSeen(call(null, '10.0.0.2:2')), PLAINTEXT_OWNER, 'another connection, the same owner');
  t.match(ownerSeen(call({ cn: 'x'.repeat(200) })), /^sha256:[0-9a-f]{64}$/, 'a CN too long for an owner: its digest');
});

void t.test("a forward's owner is taken only from a member; below 0.5 there is none", async (t) => {
  const owners = callerOwners(at('0.5'), isPeer);
  t.equal(owners(member, 'cn:alice', true), 'cn:alice', 'a member forwarding: the owner its receiver saw');
  t.equal(owners(member, '', true), 'cn:c2', 'a member forwarding without one (an older member): the member itself');
  t.equal(owners(member, 'internal:controllers', true), 'cn:c2', 'never the internal owner');
  t.equal(owners(call({ cn: 'mallory' }), 'cn:alice', true), 'cn:mallory', 'an operator claiming a forward: its own');
  t.equal(owners(call({ cn: 'mallory' }), 'cn:alice', false), 'cn:mallory');
  t.equal(owners(call(null), 'cn:alice', true), PLAINTEXT_OWNER);
  t.equal(callerOwners(at('0.4'), isPeer)(call({ cn: 'alice' }), '', false), undefined);
});

void t.test("what a client claims is replaced, on kv and mesh requests alike", async (t) => {
  const put: PutRequestMsg = { key: 'k', value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, client: { id: 'c', seq: 1, owner: 'cn:alice' }, forwarded: false };
  t.same(kvOwned(put, 'cn:mallory').client, { id: 'c', seq: 1, owner: 'cn:mallory' });
  t.same(kvOwned(put, undefined).client, { id: 'c', seq: 1 });
  t.same(meshOwned({ clientId: 'c', clientOwner: 'cn:alice', forwarded: false }, 'cn:mallory'), { clientId: 'c', clientOwner: 'cn:mallory', forwarded: false });
  t.same(meshOwned({ clientId: 'c', clientOwner: 'cn:alice', forwarded: false }, undefined), { clientId: 'c', forwarded: false });
  t.same(sessionOp('KV_OP_PUT', { key: 'k', client: { id: 'c', seq: 1, owner: 'cn:alice' } }, true).clientOwner, 'cn:alice', 'a forward on a session carries it');
  t.notOk('clientOwner' in sessionOp('KV_OP_PUT', { key: 'k', client: { id: 'c', seq: 1 } }, false), "a client's session does not");
});

function putOf(key: string, client: ClientRefMsg): PutRequestMsg {
  return { key, value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, client, forwarded: false };
}

async function node(version: string, leader: string, forwarded: object[] = []): Promise<{ port: FakeConsensus; kv: ReturnType<typeof kvOps> }> {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'], maxClients: MAX });
  await port.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version }));
  port.setLeader(leader);
  const forwarder = {
    call: <Res>(_address: string, _method: string, request: object): Promise<Res> => {
      forwarded.push(request);
      return Promise.resolve({ revision: 1 } as Res);
    },
  };
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf: (id) => `${id}:1`, forwarder });
  return { port, kv: kvOps(port, port.sm, onLeader) };
}

void t.test('at 0.5 the owner goes into the entry and into a forward; below, neither', async (t) => {
  const owners = callerOwners(at('0.5'), isPeer);
  const { port, kv } = await node('0.5', 'c1');
  await kv.put(kvOwned(putOf('k', { id: 'c', seq: 1 }), owners(call({ cn: 'alice' }), '', false)), soon());
  t.same(decodeCommand(port.proposals.at(-1) as Uint8Array).client, { id: 'c', seq: 1, owner: 'cn:alice' });
  const sent: object[] = [];
  const follower = await node('0.5', 'c2', sent);
  await follower.kv.put(kvOwned(putOf('k', { id: 'c', seq: 2 }), owners(call({ cn: 'alice' }), '', false)), soon());
  t.match(sent[0], { client: { id: 'c', seq: 2, owner: 'cn:alice' } }, 'the forward names the caller its receiver saw');
  const old = await node('0.4', 'c1');
  await old.kv.put(kvOwned(putOf('k', { id: 'c', seq: 1, owner: 'cn:alice' }), callerOwners(at('0.4'), isPeer)(call({ cn: 'alice' }), '', false)), soon());
  t.same(decodeCommand(old.port.proposals.at(-1) as Uint8Array).client, { id: 'c', seq: 1 }, 'the entry a 0.4 member applies');
});

void t.test("at the API: a flood under one certificate leaves another's retry answered from the cache", async (t) => {
  const owners = callerOwners(at('0.5'), isPeer);
  const { kv } = await node('0.5', 'c1');
  const asCaller = (cn: string, req: PutRequestMsg): PutRequestMsg => kvOwned(req, owners(call({ cn }), req.client?.owner ?? '', req.forwarded));
  const first = await kv.put(asCaller('alice', putOf('shared', { id: 'honest', seq: 1 })), soon());
  for (let i = 0; i < 3 * MAX; i++) await kv.put(asCaller('mallory', putOf(`flood/${i}`, { id: `attacker-${i}`, seq: 1 })), soon());
  t.same(await kv.put(asCaller('alice', putOf('shared', { id: 'honest', seq: 1, retry: true })), soon()), first, 'the cached answer');
  await t.rejects(kv.put(asCaller('mallory', putOf('x', { id: 'attacker-0', seq: 1, retry: true })), soon()), { code: 'SESSION_EXPIRED' }, "the flooder's own");
  await t.rejects(
    kv.put(asCaller('mallory', putOf('x', { id: 'attacker-1', seq: 1, retry: true, owner: 'cn:alice' })), soon()),
    { code: 'SESSION_EXPIRED' },
    "claiming another's owner does not help: the caller's own is used",
  );
});

void t.test("a session's calls read the caller's certificate once, not once per request", async (t) => {
  let reads = 0;
  const cert = { subject: { CN: 'alice' }, fingerprint256: 'AB:CD', raw: Buffer.from('alice') };
  const session: OwnerCall = {
    getPeer: () => '10.0.0.9:40000',
    getAuthContext: () => {
      reads++;
      return { transportSecurityType: 'ssl', sslPeerCertificate: cert };
    },
  };
  const owners = callerOwners(at('0.5'), isPeer);
  for (let i = 0; i < 100; i++) t.equal(owners(session, '', false), 'cn:alice');
  t.equal(reads, 1, 'grpc-js parses the certificate on every getAuthContext');
  t.equal(owners(call({ cn: 'bob' }), '', false), 'cn:bob', 'another call, its own reading');
});
