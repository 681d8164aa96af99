/**
 * Attack 37 A2: 10,001 puts under fresh client ids pushed an honest client's record out of the
 * dedup table, and its retry of an acknowledged put was applied a second time, over a later
 * write of another client; a retried create-if-absent that had succeeded answered CAS_FAILED.
 * Now a request marked as a retry whose id the full table no longer knows is refused as
 * SESSION_EXPIRED (thesis §6.3), nothing applied, alike on every replica; an unmarked request
 * (a new client's first attempt) is never refused. A table of 3 stands for the 10,000.
 */
import t from 'tap';
import {
  StateMachine,
  decodeCommand,
  encodeCommand,
  type ApplyResult,
  type ClientTag,
  type Envelope,
  type KvCommand,
} from '../../src/statemachine/index.js';
import { b, run, text } from './tagged-entries.js';


const put = (key: string, value: string, client: ClientTag, ifRevision?: number): Envelope<KvCommand> =>
  ifRevision === undefined ? { kind: 'kv', op: 'put', key, value: b(value), client } : { kind: 'kv', op: 'put', key, value: b(value), ifRevision, client };
const del = (key: string, client: ClientTag): Envelope<KvCommand> => ({ kind: 'kv', op: 'delete', key, client });
const retry = (tag: ClientTag): ClientTag => ({ ...tag, retry: true });

const honest: ClientTag = { id: 'honest', seq: 1 };
const MAX = 3;

/** Fresh ids, one put each: as many as the table holds, so every older record is dropped. */
function flood(sm: StateMachine, from = 0): void {
  for (let i = from; i < from + MAX; i++) run(sm, put(`flood/${i}`, 'x', { id: `attacker-${i}`, seq: 1 }));
}

const EXPIRED = { ok: false, code: 'SESSION_EXPIRED', message: /^the outcome of this write is unknown: its exactly-once record was dropped/ };

void t.test('a retried put whose record was evicted is refused as expired, not applied over a later write', async (t) => {
  const sm = new StateMachine({ maxClients: MAX });
  const first = run(sm, put('shared', 'honest', honest));
  t.same(first, { ok: true, revision: 1 });
  t.same(run(sm, put('shared', 'third', { id: 'third', seq: 1 })), { ok: true, revision: 2 });
  t.same(run(sm, put('shared', 'honest', retry(honest))), first, 'before the flood: the cached answer');
  flood(sm);
  const revision = sm.revision();
  const late = run(sm, put('shared', 'honest', retry(honest)));
  t.match(late, EXPIRED);
  t.match(late, { message: /client "honest" request 1 is a retry.*nothing applied: read the state/ });
  t.equal(text(sm.kv.get('shared')?.value), 'third', "the third client's acknowledged value stands");
  t.equal(sm.revision(), revision, 'no revision taken');
  t.match(run(sm, put('shared', 'honest', retry(honest))), EXPIRED, 'a refusal is not recorded: asked again, the same answer');
});

void t.test('a retried create-if-absent that won is refused as expired, not reported CAS_FAILED', async (t) => {
  const sm = new StateMachine({ maxClients: MAX });
  const lock: ClientTag = { id: 'locker', seq: 1 };
  t.same(run(sm, put('lock/1', 'me', lock, 0)), { ok: true, revision: 1 });
  flood(sm);
  t.match(run(sm, put('lock/1', 'me', retry(lock), 0)), EXPIRED);
  t.equal(sm.kv.getRecord('lock/1')?.modRevision, 1);
});

void t.test('a retried delete whose record was evicted is refused as expired, not NOT_FOUND', async (t) => {
  const sm = new StateMachine({ maxClients: MAX });
  run(sm, put('k', 'v', { id: 'writer', seq: 1 }));
  t.match(run(sm, del('k', honest)), { ok: true });
  flood(sm);
  t.match(run(sm, del('k', retry(honest))), EXPIRED);
});

void t.test('honest clients still work on a full table: new ids, a later seq of a known id, the cached retry', async (t) => {
  const sm = new StateMachine({ maxClients: MAX });
  flood(sm);
  t.match(run(sm, put('new', '1', { id: 'newcomer', seq: 1 })), { ok: true }, 'a new id, first attempt');
  t.match(run(sm, put('gap', '1', { id: 'gapped', seq: 5 })), { ok: true }, 'a new id whose earlier seqs never reached the log');
  const known: ClientTag = { id: 'newcomer', seq: 2 };
  t.match(run(sm, put('new', '2', retry(known))), { ok: true }, 'a retry of the next seq of a known id: its first attempt was never applied');
  const cached = run(sm, put('new', '2', retry(known)));
  t.same(run(sm, put('new', '2', retry(known))), cached, 'and retried again: the cached answer');
  t.equal(text(sm.kv.get('new')?.value), '2');
  flood(sm, 100);
  t.match(run(sm, put('new', '3', { id: 'newcomer', seq: 3 })), { ok: true }, 'an evicted id starts afresh with its next first attempt');
});

void t.test('a table that never filled has dropped nothing: a retry of an unknown id is its first apply', async (t) => {
  const sm = new StateMachine({ maxClients: MAX });
  run(sm, put('a', '1', { id: 'other', seq: 1 }));
  t.same(run(sm, put('k', 'v', retry(honest))), { ok: true, revision: 2 }, 'the first attempt was lost before the log');
  t.same(run(sm, put('k', 'v', retry(honest))), { ok: true, revision: 2 }, 'and now it is recorded');
});

void t.test('every replica decides alike, also one restored from a snapshot; the snapshot keeps the old record format', async (t) => {
  const a = new StateMachine({ maxClients: MAX });
  const steps: Envelope<KvCommand>[] = [put('shared', 'honest', honest), put('shared', 'third', { id: 'third', seq: 1 })];
  for (let i = 0; i < MAX; i++) steps.push(put(`flood/${i}`, 'x', { id: `attacker-${i}`, seq: 1 }));
  steps.push(put('shared', 'honest', retry(honest)), put('n', '1', retry({ id: 'n', seq: 1 })), put('n', '1', { id: 'n2', seq: 1 }));
  // b joins mid-flood from a's snapshot, as a follower that installed one would.
  const b2 = new StateMachine({ maxClients: MAX });
  for (const step of steps.slice(0, 3)) run(a, step);
  b2.restore(a.snapshot());
  const results = steps.slice(3).map((step): [ApplyResult, ApplyResult] => [run(a, step), run(b2, step)]);
  for (const [ra, rb] of results) t.same(rb, ra);
  t.match(results.at(-3)?.[0], EXPIRED);
  t.match(results.at(-2)?.[0], EXPIRED, 'an unknown id marked retry on a full table');
  t.match(results.at(-1)?.[0], { ok: true });
  t.same(a.snapshot(), b2.snapshot(), 'byte-identical snapshots');
  const clients = (JSON.parse(new TextDecoder().decode(a.snapshot().subarray(1))) as { clients: unknown[][] }).clients;
  t.ok(clients.every((c) => c.length === 4 || c.length === 6), 'records are [id, seq, index, result(, hash, what)] as before: no retry mark kept');
});

void t.test('the retry mark is part of the envelope: true kept, false dropped, anything else refused', async (t) => {
  t.same(decodeCommand(encodeCommand(put('k', 'v', retry(honest)))).client, { id: 'honest', seq: 1, retry: true });
  t.same(decodeCommand(encodeCommand(put('k', 'v', { ...honest, retry: false }))).client, { id: 'honest', seq: 1 });
  const sm = new StateMachine();
  const bad = { kind: 'kv', op: 'put', key: 'k', value: b('v'), client: { id: 'x', seq: 1, retry: 'yes' } } as unknown as Envelope<KvCommand>;
  t.match(run(sm, bad), { ok: false, code: 'INVALID', message: /retry/ });
});
