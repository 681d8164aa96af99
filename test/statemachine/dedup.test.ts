import t from 'tap';
import {
  StateMachine,
  encodeCommand,
  type ClientTag,
  type Envelope,
  type KvCommand,
} from '../../src/statemachine/index.js';
import { b, run } from './tagged-entries.js';

const put = (key: string, text: string, client: ClientTag, ifRevision?: number): Envelope<KvCommand> =>
  ifRevision === undefined
    ? { kind: 'kv', op: 'put', key, value: b(text), client }
    : { kind: 'kv', op: 'put', key, value: b(text), ifRevision, client };

void t.test('a retried request returns the first result and is applied once', async (t) => {
  const sm = new StateMachine();
  const first = run(sm, put('k', 'v', { id: 'a', seq: 1 }));
  run(sm, put('other', 'x', { id: 'b', seq: 1 }));
  const retry = run(sm, put('k', 'v', { id: 'a', seq: 1 }));
  t.same(first, { ok: true, revision: 1 });
  t.same(retry, first);
  t.equal(sm.revision(), 2, 'the retry did not bump the revision');
  t.match(sm.kv.getRecord('k'), { version: 1, modRevision: 1 });
  t.equal(sm.appliedIndex, 3, 'the retry entry still counts as applied');
});

void t.test('a retried failure returns the same failure, even if it would now succeed', async (t) => {
  const sm = new StateMachine();
  const lost = run(sm, put('k', 'v', { id: 'a', seq: 1 }, 5));
  t.match(lost, { ok: false, code: 'CAS_FAILED', currentRevision: 0 });
  run(sm, put('k', 'v0', { id: 'b', seq: 1 }));
  t.same(run(sm, put('k', 'v', { id: 'a', seq: 1 }, 5)), lost);
});

void t.test('an older seq is refused as stale without applying', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', '1', { id: 'a', seq: 1 }));
  run(sm, put('k', '2', { id: 'a', seq: 2 }));
  t.match(run(sm, put('k', 'old', { id: 'a', seq: 1 })), {
    ok: false,
    code: 'STALE_REQUEST',
    message: /request 1 is older than its latest, 2/,
  });
  t.same(sm.kv.get('k')?.value, b('2'));
  t.equal(sm.revision(), 2);
  t.same(run(sm, put('k', '3', { id: 'a', seq: 5 })), { ok: true, revision: 3 }, 'seq may skip ahead');
});

void t.test('clients are independent, and untagged commands are never deduplicated', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'a', { id: 'a', seq: 1 }));
  t.same(run(sm, put('k', 'b', { id: 'b', seq: 1 })), { ok: true, revision: 2 });
  run(sm, { kind: 'kv', op: 'put', key: 'k', value: b('c') });
  t.same(run(sm, { kind: 'kv', op: 'put', key: 'k', value: b('c') }), { ok: true, revision: 4 });
});

void t.test('the table keeps the most recently applied clients and evicts the oldest', async (t) => {
  const sm = new StateMachine({ maxClients: 3 });
  for (const id of ['a', 'b', 'c']) run(sm, put(`k-${id}`, 'v', { id, seq: 1 }));
  run(sm, put('k-a', 'v2', { id: 'a', seq: 2 })); // a is now the most recent: b is the oldest
  run(sm, put('k-d', 'v', { id: 'd', seq: 1 })); // evicts b
  t.same(run(sm, put('k-a', 'v2', { id: 'a', seq: 2 })), { ok: true, revision: 4 }, 'a is remembered');
  t.same(run(sm, put('k-c', 'v', { id: 'c', seq: 1 })), { ok: true, revision: 3 }, 'c is remembered');
  const revision = sm.revision();
  t.same(run(sm, put('k-b', 'v', { id: 'b', seq: 1 })), { ok: true, revision: revision + 1 }, 'b was forgotten: applied again');
});

void t.test('the dedup table is part of the snapshot', async (t) => {
  const sm = new StateMachine();
  const first = run(sm, put('k', 'v', { id: 'a', seq: 4 }));
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.same(copy.apply(copy.appliedIndex + 1, encodeCommand(put('k', 'v', { id: 'a', seq: 4 }))), first);
  t.match(copy.apply(copy.appliedIndex + 1, encodeCommand(put('k', 'v', { id: 'a', seq: 3 }))), { code: 'STALE_REQUEST' });
  t.equal(copy.revision(), 1);
});

void t.test('eviction order survives a snapshot', async (t) => {
  const sm = new StateMachine({ maxClients: 2 });
  run(sm, put('x', '1', { id: 'b', seq: 1 }));
  run(sm, put('x', '2', { id: 'a', seq: 1 }));
  const copy = new StateMachine({ maxClients: 2 });
  copy.restore(sm.snapshot());
  for (const m of [sm, copy]) run(m, put('x', '3', { id: 'c', seq: 1 })); // evicts b, the least recent
  t.equal(Buffer.compare(sm.snapshot(), copy.snapshot()), 0);
  t.match(run(copy, put('x', '2', { id: 'a', seq: 1 })), { ok: true, revision: 2 }, 'a is still remembered');
});
