/** The checker accepts what a register can do and rejects what it cannot. */
import t from 'tap';
import { seededRng } from '../../src/util/rng.js';
import type { HistoryOp, KvOp, KvOutcome } from '../../chaos/history.js';
import { bruteForceLinearizable, generateLinearizable } from './history-gen.js';
import { checkHistory } from '../../chaos/linearizability.js';

/** A compact way to write histories: [client, invoke, complete|null, op, outcome]. */
type Row = readonly [string, number, number | null, KvOp, KvOutcome];

const get: KvOp = { kind: 'get' };
const put = (value: string): KvOp => ({ kind: 'put', value });
const cas = (value: string, ifRevision: number): KvOp => ({ kind: 'cas', value, ifRevision });
const read = (value: string, revision: number): KvOutcome => ({ kind: 'read', found: true, value, revision });
const absent: KvOutcome = { kind: 'read', found: false };
const wrote = (revision: number): KvOutcome => ({ kind: 'written', revision });
const casFailed: KvOutcome = { kind: 'cas-failed' };
const unknown: KvOutcome = { kind: 'unknown' };

function history(rows: readonly Row[], key = 'k'): HistoryOp[] {
  return rows.map(([client, invokeMs, completeMs, op, outcome], id) => ({
    id,
    client,
    key,
    op,
    outcome,
    invokeMs,
    completeMs: completeMs ?? Infinity,
  }));
}

/** Both ways of handling unobserved indeterminate writes must give the same answer here. */
function ok(rows: readonly Row[]): boolean {
  const exact = checkHistory(history(rows)).linearizable;
  const summarized = checkHistory(history(rows), { exactUnobservedLimit: 0 }).linearizable;
  if (exact !== summarized) throw new Error(`exact search says ${String(exact)}, summarized says ${String(summarized)}`);
  return exact === true;
}

void t.test('linearizable histories are accepted', async (t) => {
  t.ok(ok([]), 'the empty history');
  t.ok(ok([['a', 0, 1, get, absent]]), 'a read of a key never written');
  t.ok(ok([['a', 0, 1, put('x'), wrote(1)], ['a', 2, 3, get, read('x', 1)]]), 'a read after a write sees it');
  t.ok(
    ok([['a', 0, 10, put('x'), wrote(1)], ['b', 1, 2, get, absent], ['c', 3, 4, get, read('x', 1)]]),
    'reads during a write see the old value, then the new one',
  );
  t.ok(
    ok([['a', 0, 10, put('x'), wrote(1)], ['b', 1, 9, put('y'), wrote(2)], ['c', 11, 12, get, read('y', 2)]]),
    'concurrent writes are ordered by their revisions',
  );
  t.ok(
    ok([['a', 0, 1, put('x'), wrote(3)], ['b', 2, 3, cas('y', 3), wrote(7)], ['c', 2, 3, cas('z', 3), casFailed], ['a', 4, 5, get, read('y', 7)]]),
    'of two compare-and-sets on one revision, one wins and one fails',
  );
  t.ok(ok([['a', 0, 1, cas('x', 0), wrote(1)], ['b', 2, 3, cas('y', 0), casFailed]]), 'compare-and-set on revision 0 creates the key once');
  t.ok(ok([['a', 0, null, put('x'), unknown], ['b', 5, 6, get, absent]]), 'an indeterminate write may never happen');
  t.ok(ok([['a', 0, null, put('x'), unknown], ['b', 5, 6, get, read('x', 4)]]), 'an indeterminate write may happen, and a read tells its revision');
  t.ok(
    ok([['a', 0, null, put('x'), unknown], ['b', 5, 6, get, absent], ['b', 7, 8, get, read('x', 4)]]),
    'an indeterminate write may take effect long after its call',
  );
  t.ok(
    ok([['a', 0, 1, put('x'), wrote(1)], ['a', 2, null, cas('y', 1), unknown], ['b', 3, 4, cas('z', 1), casFailed], ['b', 5, 6, get, read('y', 2)]]),
    'an indeterminate compare-and-set that applied explains a later failure',
  );
  t.ok(
    ok([['a', 0, 1, put('x'), wrote(1)], ['a', 2, null, put('y'), unknown], ['b', 3, 4, cas('z', 1), casFailed]]),
    'an unobserved indeterminate write explains a failed compare-and-set',
  );
  t.ok(
    ok([['a', 0, 2, put('x'), wrote(1)], ['b', 2, 3, get, absent]]),
    'a call at the instant of a return counts as concurrent',
  );
});

void t.test('non-linearizable histories are rejected', async (t) => {
  t.notOk(ok([['a', 0, 1, put('x'), wrote(1)], ['b', 2, 3, get, absent]]), 'a read after an acknowledged write misses it (lost write)');
  t.notOk(
    ok([['a', 0, 1, put('x'), wrote(1)], ['a', 2, 3, put('y'), wrote(2)], ['b', 4, 5, get, read('x', 1)]]),
    'a stale read: the value before the last acknowledged write',
  );
  t.notOk(
    ok([['a', 0, 10, put('x'), wrote(1)], ['b', 1, 2, get, read('x', 1)], ['c', 3, 4, get, absent]]),
    'reads go back in time: new value, then the old one',
  );
  t.notOk(
    ok([['a', 0, 1, put('x'), wrote(1)], ['b', 2, 3, cas('y', 1), wrote(2)], ['c', 4, 5, cas('z', 1), wrote(3)]]),
    'two compare-and-sets on the same revision both succeed',
  );
  t.notOk(ok([['a', 0, 1, put('x'), wrote(1)], ['b', 2, 3, cas('y', 1), casFailed]]), 'a compare-and-set fails although the revision matched');
  t.notOk(ok([['a', 0, 1, put('x'), wrote(1)], ['b', 2, 3, cas('y', 5), wrote(2)]]), 'a compare-and-set succeeds although the revision differed');
  t.notOk(ok([['a', 0, 1, put('x'), wrote(5)], ['a', 2, 3, put('y'), wrote(3)]]), 'a later write gets a smaller revision');
  t.notOk(ok([['a', 0, 1, put('x'), wrote(1)], ['b', 2, 3, get, read('x', 2)]]), 'a read reports the wrong revision');
  t.notOk(ok([['a', 0, 1, get, read('ghost', 1)]]), 'a read of a value nobody wrote');
  t.notOk(
    ok([['a', 0, null, put('x'), unknown], ['b', 1, 2, get, read('x', 4)], ['c', 3, 4, get, read('x', 5)]]),
    'one write seen at two revisions (applied twice)',
  );
  t.notOk(
    ok([['a', 0, null, put('x'), unknown], ['b', 5, 6, get, read('x', 4)], ['b', 7, 8, get, absent]]),
    'an indeterminate write cannot be undone after it was seen',
  );
  const result = checkHistory(history([['a', 0, 1, put('x'), wrote(1)], ['a', 2, 3, put('y'), wrote(2)], ['b', 4, 5, get, read('x', 1)]]));
  t.equal(result.linearizable, false);
  t.match(result.keys[0]?.explanation ?? '', /longest linearizable prefix: 2 of 3[\s\S]*get k -> x@1/, 'the explanation names the op that cannot follow');
});

void t.test('keys are checked independently', async (t) => {
  const a = history([['a', 0, 1, put('x'), wrote(1)], ['b', 2, 3, get, read('x', 1)]], 'a');
  const b = history([['a', 0, 1, put('y'), wrote(2)], ['b', 2, 3, get, absent]], 'b').map((op) => ({ ...op, id: op.id + 10 }));
  const result = checkHistory([...a, ...b]);
  t.equal(result.linearizable, false);
  t.same(
    result.keys.map((k) => [k.key, k.linearizable]),
    [['a', true], ['b', false]],
  );
});

void t.test('generated linearizable histories are accepted', async (t) => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = seededRng(seed);
    const ops = generateLinearizable(rng, { clients: rng.int(1, 6), opsPerClient: rng.int(1, 30), keys: ['a', 'b'], indeterminate: 0.1 });
    const result = checkHistory(ops);
    if (result.linearizable !== true) {
      t.fail(`seed ${seed}: a generated history was rejected`, { result: JSON.stringify(result, null, 1).slice(0, 3000) });
      return;
    }
  }
  t.pass('300 seeds');
});

void t.test('the checker agrees with brute force on small mutated histories', async (t) => {
  let rejected = 0;
  let summaryAccepted = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const rng = seededRng(seed * 7919);
    const ops = generateLinearizable(rng, { clients: rng.int(1, 4), opsPerClient: rng.int(1, 4), keys: ['k'], indeterminate: 0.3 });
    const mutated = ops.map((op) => {
      if (rng.next() > 0.25) return op;
      // Perturb one outcome or one time: some of these break linearizability, some do not.
      switch (rng.int(0, 4)) {
        case 0:
          return op.outcome.kind === 'read' && op.outcome.found ? { ...op, outcome: { kind: 'read' as const, found: false as const } } : op;
        case 1:
          return op.outcome.kind === 'written' ? { ...op, outcome: { kind: 'written' as const, revision: op.outcome.revision + rng.int(-2, 3) } } : op;
        case 2:
          return op.outcome.kind === 'cas-failed' ? { ...op, outcome: { kind: 'written' as const, revision: 100 + op.id } } : op;
        default:
          return Number.isFinite(op.completeMs) ? { ...op, completeMs: op.invokeMs + (op.completeMs - op.invokeMs) * rng.next() } : op;
      }
    });
    const expected = bruteForceLinearizable(mutated);
    const exact = checkHistory(mutated, { exactUnobservedLimit: 100 }).linearizable;
    if (exact !== expected) {
      t.fail(`seed ${seed}: checker says ${String(exact)}, brute force says ${expected}`, { ops: JSON.stringify(mutated) });
      return;
    }
    // The summary of unobserved writes may only ever accept more, never reject more.
    const summarized = checkHistory(mutated, { exactUnobservedLimit: 0 }).linearizable;
    if (expected && summarized !== true) {
      t.fail(`seed ${seed}: the summarized search rejects a linearizable history`, { ops: JSON.stringify(mutated) });
      return;
    }
    if (!expected) rejected += 1;
    if (!expected && summarized === true) summaryAccepted += 1;
  }
  t.ok(rejected > 200, `the mutations produced non-linearizable cases too (${rejected})`);
  t.ok(summaryAccepted <= rejected / 20, `the summary lets few of them through (${summaryAccepted} of ${rejected})`);
});

void t.test('long histories with many clients are checked quickly, both ways', async (t) => {
  const rng = seededRng(42);
  const ops = generateLinearizable(rng, { clients: 8, opsPerClient: 1500, keys: ['a', 'b', 'c'], indeterminate: 0.02 });
  let started = performance.now();
  const result = checkHistory(ops);
  t.equal(result.linearizable, true, `${ops.length} ops accepted in ${(performance.now() - started).toFixed(0)}ms`);
  t.ok(result.keys.every((k) => k.summarized), 'with over 3 unobserved indeterminate writes per key');
  // One late read returns an early value: refuting needs the whole search space.
  const reads = ops.filter((o) => o.key === 'a' && o.outcome.kind === 'read' && o.outcome.found);
  const early = reads[10]!;
  const late = reads[Math.floor(reads.length * 0.8)]!;
  const stale = ops.map((o) => (o === late ? { ...o, outcome: early.outcome } : o));
  started = performance.now();
  const refuted = checkHistory(stale);
  const ms = performance.now() - started;
  t.equal(refuted.linearizable, false, `a stale read among ${ops.length} ops is found in ${ms.toFixed(0)}ms`);
});
