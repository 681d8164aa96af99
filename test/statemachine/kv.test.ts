import t from 'tap';
import { StateMachine, encodeCommand, type ApplyResult, type KvCommand } from '../../src/statemachine/index.js';
import { seededRng } from '../../src/util/rng.js';

/** Applies each command at the next index and returns the results. */
function run(sm: StateMachine, ...commands: KvCommand[]): ApplyResult[] {
  return commands.map((c) => sm.apply(sm.appliedIndex + 1, encodeCommand(c)));
}
const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (key: string, text: string, ifRevision?: number): KvCommand =>
  ifRevision === undefined ? { kind: 'kv', op: 'put', key, value: b(text) } : { kind: 'kv', op: 'put', key, value: b(text), ifRevision };
const del = (key: string, ifRevision?: number): KvCommand =>
  ifRevision === undefined ? { kind: 'kv', op: 'delete', key } : { kind: 'kv', op: 'delete', key, ifRevision };

void t.test('a put returns the new revision and get reports it as the key revision', async (t) => {
  const sm = new StateMachine();
  t.same(run(sm, put('a', '1'), put('b', '2')), [
    { ok: true, revision: 1 },
    { ok: true, revision: 2 },
  ]);
  t.same(sm.kv.get('a'), { key: 'a', value: b('1'), revision: 1 });
  t.same(sm.kv.get('b'), { key: 'b', value: b('2'), revision: 2 });
  t.equal(sm.kv.get('c'), null);
  t.equal(sm.revision(), 2);
  t.equal(sm.kv.size, 2);
});

void t.test('overwriting keeps createRevision and counts versions', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'v1'), put('other', 'x'), put('k', 'v2'), put('k', 'v3'));
  t.same(sm.kv.getRecord('k'), { key: 'k', value: b('v3'), createRevision: 1, modRevision: 4, version: 3 });
});

void t.test('compare-and-set wins when ifRevision equals the key modRevision', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'v1'), put('x', 'y'));
  t.same(run(sm, put('k', 'v2', 1)), [{ ok: true, revision: 3 }]);
  t.same(sm.kv.get('k')?.value, b('v2'));
});

void t.test('compare-and-set loses with the current revision and changes nothing', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'v1'), put('k', 'v2'));
  const before = sm.snapshot();
  const [result] = run(sm, put('k', 'v3', 1));
  t.match(result, { ok: false, code: 'CAS_FAILED', currentRevision: 2, message: /at revision 2, expected 1/ });
  t.equal(sm.revision(), 2, 'a failed command does not bump the revision');
  t.same(sm.kv.get('k')?.value, b('v2'));
  t.equal(sm.appliedIndex, 3, 'the entry still counts as applied');
  const after = new StateMachine();
  after.restore(before);
  t.same(after.kv.list().items, sm.kv.list().items, 'no record changed');
});

void t.test('ifRevision 0 creates only if absent', async (t) => {
  const sm = new StateMachine();
  t.same(run(sm, put('k', 'first', 0)), [{ ok: true, revision: 1 }]);
  t.match(run(sm, put('k', 'second', 0)), [{ ok: false, code: 'CAS_FAILED', currentRevision: 1 }]);
  t.same(sm.kv.get('k')?.value, b('first'));
  t.match(run(sm, put('missing', 'v', 5)), [{ ok: false, code: 'CAS_FAILED', currentRevision: 0 }]);
  t.equal(sm.kv.get('missing'), null);
});

void t.test('delete removes the key and bumps the revision; a missing key is NOT_FOUND', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'v'));
  t.same(run(sm, del('k')), [{ ok: true, revision: 2 }]);
  t.equal(sm.kv.get('k'), null);
  t.match(run(sm, del('k')), [{ ok: false, code: 'NOT_FOUND', message: /"k" does not exist/ }]);
  t.equal(sm.revision(), 2);
});

void t.test('a recreated key starts a new life: new createRevision, version 1', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'a'), put('k', 'b'), del('k'), put('k', 'c'));
  t.same(sm.kv.getRecord('k'), { key: 'k', value: b('c'), createRevision: 4, modRevision: 4, version: 1 });
});

void t.test('conditional delete checks the modRevision', async (t) => {
  const sm = new StateMachine();
  run(sm, put('k', 'a'), put('k', 'b'));
  t.match(run(sm, del('k', 1)), [{ ok: false, code: 'CAS_FAILED', currentRevision: 2 }]);
  t.ok(sm.kv.get('k'));
  t.same(run(sm, del('k', 2)), [{ ok: true, revision: 3 }]);
});

void t.test('revisions increase by one with every change and never otherwise', async (t) => {
  const sm = new StateMachine();
  const results = run(sm, put('a', '1'), put('a', '2', 7), del('zz'), put('b', '1'), del('a'), put('b', '2', 0), put('c', '3'));
  const revisions = results.flatMap((r) => (r.ok ? [r.revision] : []));
  t.same(revisions, [1, 2, 3, 4]);
  t.equal(sm.revision(), 4);
});

void t.test('list returns keys under a prefix in order, with pagination', async (t) => {
  const sm = new StateMachine();
  run(sm, put('b/2', 'x'), put('a', 'x'), put('b/1', 'x'), put('b/3', 'x'), put('c', 'x'), put('b', 'x'), put('b/1', 'y'));
  const keys = (prefix: string, opts = {}): string[] => sm.kv.list(prefix, opts).items.map((r) => r.key);
  t.same(keys(''), ['a', 'b', 'b/1', 'b/2', 'b/3', 'c']);
  t.same(keys('b/'), ['b/1', 'b/2', 'b/3']);
  t.same(keys('zz'), []);
  t.same(sm.kv.list('b/').items[0], { key: 'b/1', value: b('y'), createRevision: 3, modRevision: 7, version: 2 });
  const first = sm.kv.list('b/', { limit: 2 });
  t.same(first.items.map((r) => r.key), ['b/1', 'b/2']);
  t.equal(first.more, true);
  const second = sm.kv.list('b/', { limit: 2, after: 'b/2' });
  t.same(second.items.map((r) => r.key), ['b/3']);
  t.equal(second.more, false);
  t.equal(sm.kv.list('b/', { limit: 3 }).more, false, 'an exact fit has no more');
  run(sm, del('b/2'), put('b/0', 'x'));
  t.same(keys('b/'), ['b/0', 'b/1', 'b/3'], 'the listing follows creations and deletions');
});

void t.test('listings stay in key order, each key once, across creates, deletes and re-creates between them (seed 1203)', async (t) => {
  const rng = seededRng(1203);
  const sm = new StateMachine();
  const live = new Set<string>();
  for (let step = 0; step < 3000; step++) {
    const key = `k${rng.int(0, 8)}${rng.int(0, 4) === 0 ? '\u00e9' : ''}`;
    if (rng.int(0, 3) === 0) {
      if (run(sm, del(key))[0]!.ok) live.delete(key);
    } else {
      run(sm, put(key, String(step)));
      live.add(key);
    }
    // Listings at random moments: the merged order must be the order of a full sort.
    if (rng.int(0, 15) === 0) {
      const listed = sm.kv.list().items.map((r) => r.key);
      const expected = [...live].sort();
      if (listed.join('\n') !== expected.join('\n')) {
        t.fail(`step ${step}: listed ${JSON.stringify(listed)}, expected ${JSON.stringify(expected)}`);
        return;
      }
    }
  }
  t.same(sm.kv.list().items.map((r) => r.key), [...live].sort(), 'the final listing');
});
