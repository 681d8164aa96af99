/**
 * Attack 28 F7: a client seq reused for a different request was acknowledged with the first
 * request's cached answer, and the second request was never applied. The dedup table now keeps
 * what each request was: a retry still gets the cached answer, another request under the same
 * seq is refused (INVALID, nothing applied), on every replica alike. Records without a print
 * (older snapshots, or kept while the cluster version was 0.1) are answered as before.
 */
import t from 'tap';
import {
  StateMachine,
  type ClientTag,
  type Envelope,
  type KindCommand,
  type KvCommand,
} from '../../src/statemachine/index.js';
import { b, run } from './tagged-entries.js';
import { apply, claim, clusterVersion, del, forgetRecord, initSettings, offline, service } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;
const dup: ClientTag = { id: 'dupcli', seq: 1 };

const put = (key: string, text: string, client: ClientTag = dup, ifRevision?: number): Envelope<KvCommand> =>
  ifRevision === undefined ? { kind: 'kv', op: 'put', key, value: b(text), client } : { kind: 'kv', op: 'put', key, value: b(text), ifRevision, client };
const tagged = (command: KindCommand, client: ClientTag = dup): Envelope<KindCommand> => ({ ...command, client });

/** A state machine at the cluster version that keeps prints (0.3), as a cluster of this build is. */
function at02(): StateMachine {
  const sm = new StateMachine();
  run(sm, clusterVersion('0.3'));
  return sm;
}

const clientsOf = (sm: StateMachine): unknown[][] => (JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { clients: unknown[][] }).clients;

void t.test('the same seq for a put of another key is refused, naming both; nothing is written', async (t) => {
  const sm = at02();
  const first = run(sm, put('raw/A', 'a'));
  t.match(first, { ok: true });
  const revision = sm.revision();
  const clash = run(sm, put('raw/B', 'b'));
  t.match(clash, { ok: false, code: 'INVALID', message: /^seq 1 of client "dupcli" was a put of "raw\/A", not a put of "raw\/B": a new request needs a new seq/ });
  t.equal(sm.kv.get('raw/B'), null, 'raw/B was not written');
  t.equal(sm.revision(), revision, 'no revision taken');
  t.same(run(sm, put('raw/A', 'a')), first, 'a true retry still gets the first answer');
  t.same(run(sm, put('raw/C', 'c', { id: 'dupcli', seq: 2 })), { ok: true, revision: revision + 1 }, 'the next seq applies');
});

void t.test('another value, condition or operation on the same key is another request too', async (t) => {
  const sm = at02();
  run(sm, put('k', 'v1'));
  t.match(run(sm, put('k', 'v2')), { code: 'INVALID', message: /was a put of "k" with other contents/ }, 'another value');
  t.match(run(sm, put('k', 'v1', dup, 0)), { code: 'INVALID', message: /with other contents/ }, 'another condition');
  t.match(run(sm, tagged({ kind: 'kv', op: 'delete', key: 'k' } as KvCommand)), { code: 'INVALID', message: /was a put of "k", not a delete of "k"/ });
  t.same(sm.kv.get('k')?.value, b('v1'));
});

void t.test('a retry of an apply proposed by another leader (another `at`) is a retry; other resources are not', async (t) => {
  const sm = at02();
  run(sm, initSettings());
  const first = run(sm, tagged(apply(T0, service('web', 'http', [80], { tier: 'front', app: 'shop' }))));
  t.match(first, { ok: true });
  // The same file re-sent through another leader: a later clock, labels in another order.
  t.same(run(sm, tagged(apply(T0 + 5_000, service('web', 'http', [80], { app: 'shop', tier: 'front' })))), first);
  t.match(run(sm, tagged(apply(T0 + 6_000, service('web', 'http', [81])))), { code: 'INVALID', message: /was an apply of service\/web with other contents/ });
  t.match(run(sm, tagged(del(T0 + 7_000, 'service', 'web'))), { code: 'INVALID', message: /was an apply of service\/web, not a delete of service\/web/ });
  t.ok(run(sm, tagged(del(T0 + 8_000, 'service', 'web'), { id: 'dupcli', seq: 2 })).ok, 'under a new seq it applies');
});

void t.test("a forget retried through another controller is a retry; a forget of another agent is not", async (t) => {
  const sm = at02();
  run(sm, claim('a1', 's1'));
  run(sm, offline('a1', 's1'));
  const first = run(sm, tagged(forgetRecord('a1', 's1', 'forgotten by an operator (ctl delete agent)')));
  t.match(first, { ok: true });
  const viaC2 = { ...forgetRecord('a1', 's9', 'forgotten by an operator (ctl delete agent)'), controller: 'c2' } as KindCommand;
  t.same(run(sm, tagged(viaC2)), first, 'the controller and session are the leader\'s, not the client\'s');
  t.match(run(sm, tagged(forgetRecord('a2', 's1'))), { code: 'INVALID', message: /was a forget of agent "a1", not a forget of agent "a2"/ });
});

void t.test("the controllers' own report ids keep re-sending a seq with fewer entries: answered from the cache", async (t) => {
  const sm = at02();
  const own: ClientTag = { id: 'agents/0123abcd', seq: 1 };
  const first = run(sm, tagged(claim('a1', 's1'), own));
  t.match(first, { ok: true });
  t.same(run(sm, tagged(claim('a2', 's2'), own)), first, 'no print for them (hub-driver.ts shrinks a retried report)');
  t.equal(clientsOf(sm).find((e) => e[0] === own.id)?.length, 4, 'recorded without a print');
});

void t.test('below cluster version 0.3 nothing changes: no print kept, the snapshot record is the old one', async (t) => {
  const sm = new StateMachine();
  const first = run(sm, put('raw/A', 'a'));
  t.same(run(sm, put('raw/B', 'b')), first, 'answered from the cache as before (a 0.1.x member would answer so too)');
  t.same(clientsOf(sm), [['dupcli', 1, 1, first]], '[id, seq, index, result]: what a 0.1.x member reads');
});

void t.test('a record without a print, from an older snapshot, is answered as before after the version rises', async (t) => {
  const old = new StateMachine();
  const first = run(old, put('raw/A', 'a'));
  run(old, clusterVersion('0.3'));
  const sm = new StateMachine();
  sm.restore(old.snapshot());
  t.same(run(sm, put('raw/B', 'b')), first, 'no print to compare: the cached answer, as the older version gave');
  t.same(run(sm, put('raw/C', 'c', { id: 'dupcli', seq: 2 })), { ok: true, revision: 2 });
  t.match(run(sm, put('raw/D', 'd', { id: 'dupcli', seq: 2 })), { code: 'INVALID', message: /was a put of "raw\/C", not a put of "raw\/D"/ }, 'the next record has one');
});

void t.test('a snapshot the previous version wrote (at 0.2, records without prints) loads and answers as it did', async (t) => {
  // Written by the build before prints (main at 554a5b6): a cluster at 0.2, one put of raw/A under dupcli seq 1.
  const previous = '\u0001{"appliedIndex":2,"revision":1,"kinds":{"cluster":{"version":"0.2"},"kv":[["raw/A","a",1,1,1]]},"clients":[["dupcli",1,2,{"ok":true,"revision":1}]]}';
  const sm = new StateMachine();
  sm.restore(new TextEncoder().encode(previous));
  t.same(run(sm, put('raw/B', 'b')), { ok: true, revision: 1 }, 'the old record: answered from the cache, as before');
  t.same(clientsOf(sm), [['dupcli', 1, 2, { ok: true, revision: 1 }]], 'and written back unchanged');
  run(sm, clusterVersion('0.3'));
  t.same(run(sm, put('raw/C', 'c', { id: 'dupcli', seq: 2 })), { ok: true, revision: 2 });
  t.match(run(sm, put('raw/D', 'd', { id: 'dupcli', seq: 2 })), { code: 'INVALID' }, 'new records carry a print');
});

void t.test('prints are replicated state: a restored replica decides alike, and snapshots are byte-identical', async (t) => {
  const entries: Envelope<KindCommand>[] = [clusterVersion('0.3'), put('raw/A', 'a'), put('x', '1', { id: 'other', seq: 7 }), put('raw/B', 'b')];
  const a = new StateMachine();
  const bb = new StateMachine();
  const resultsA = entries.map((e) => run(a, e));
  const resultsB = entries.map((e) => run(bb, e));
  t.same(resultsB, resultsA, 'the same entries, the same results');
  t.match(resultsA[3], { code: 'INVALID' });
  const c = new StateMachine();
  c.restore(a.snapshot());
  t.same(Buffer.from(c.snapshot()), Buffer.from(a.snapshot()), 'a restored replica: byte-identical');
  t.equal(clientsOf(a).find((e) => e[0] === 'dupcli')?.length, 6, '[id, seq, index, result, hash, what]');
  for (const sm of [a, bb, c]) t.match(run(sm, put('raw/Z', 'z')), { code: 'INVALID', message: /was a put of "raw\/A", not a put of "raw\/Z"/ });
  t.same(Buffer.from(c.snapshot()), Buffer.from(a.snapshot()), 'still identical after the refusal (nothing recorded)');
});

void t.test('a snapshot with a malformed print is refused whole', async (t) => {
  const sm = at02();
  run(sm, put('raw/A', 'a'));
  const doc = JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { clients: unknown[][] };
  doc.clients[0]![4] = 'not hex';
  const bad = new Uint8Array([1, ...new TextEncoder().encode(JSON.stringify(doc))]);
  const copy = new StateMachine();
  t.throws(() => copy.restore(bad), /clients: entry 0: hash must be hex/);
  doc.clients[0]!.length = 5;
  t.throws(() => copy.restore(new Uint8Array([1, ...new TextEncoder().encode(JSON.stringify(doc))])), /expected \[id, seq, index, result\]/);
});
