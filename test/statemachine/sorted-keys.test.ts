/**
 * The store's ordered keys (src/statemachine/sorted-keys.ts) against a sorted array, through
 * thousands of seeded adds and deletes (chunks split and emptied), and what the store gains:
 * a listing after a key is created sorts nothing, where it sorted every key before.
 */
import t from 'tap';
import { SortedKeys } from '../../src/statemachine/sorted-keys.js';
import { StateMachine, encodeCommand, type KvCommand } from '../../src/statemachine/index.js';
import { seededRng } from '../../src/util/rng.js';

/** The reference: every key, sorted as Array.prototype.sort sorts (UTF-16 code units). */
function fromRef(ref: readonly string[], from: string, strict: boolean): string[] {
  return ref.filter((k) => k > from || (!strict && k === from));
}

void t.test('adds, deletes and listings agree with a sorted array (seeded)', async (t) => {
  const rng = seededRng(14);
  const keys = new SortedKeys();
  const ref = new Set<string>();
  // Short keys over a small alphabet, with a few outside the BMP: collisions, shared prefixes, surrogates.
  const alphabet = ['a', 'b', 'z', '/', '0', 'é', '\u{1F600}'];
  const randomKey = (): string => Array.from({ length: rng.int(1, 6) }, () => alphabet[rng.int(0, alphabet.length)]!).join('');
  let checks = 0;
  for (let step = 0; step < 20_000; step++) {
    const key = randomKey();
    // Mostly adds at first (chunks fill and split), mostly deletes later (chunks empty).
    const adding = rng.next() < (step < 12_000 ? 0.8 : 0.25);
    if (adding && !ref.has(key)) {
      keys.add(key);
      ref.add(key);
    } else if (!adding && ref.has(key)) {
      keys.delete(key);
      ref.delete(key);
    }
    if (step % 997 === 0) {
      const sorted = [...ref].sort();
      if (keys.size !== ref.size || keys.toArray().join('\n') !== sorted.join('\n')) t.fail(`step ${step}: the keys differ from the sorted array`);
      const probe = randomKey();
      for (const strict of [false, true]) {
        if ([...keys.from(probe, strict)].join('\n') !== fromRef(sorted, probe, strict).join('\n')) t.fail(`step ${step}: from(${JSON.stringify(probe)}, ${strict}) differs`);
      }
      checks++;
    }
  }
  t.ok(checks >= 20, `${checks} checkpoints, every one agreeing`);
  t.ok(ref.size > 0, 'keys are left at the end');
  t.same([...keys.from('', false)], [...ref].sort(), 'listing from the start lists every key in order');
});

void t.test('a snapshot of sorted keys lists in order and takes adds and deletes after it', async (t) => {
  const initial = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
  const keys = SortedKeys.fromSorted(initial);
  keys.add('k00000a');
  keys.delete('k01500');
  keys.add('zz');
  const expected = [...initial.filter((k) => k !== 'k01500'), 'k00000a', 'zz'].sort();
  t.same(keys.toArray(), expected);
  t.same([...keys.from('k01499', true)].slice(0, 2), ['k01501', 'k01502'], 'past a deleted key');
  t.same([...keys.from('zzz', false)], [], 'past every key: nothing');
});

void t.test('a key added twice, or deleted when absent, is an invariant error', async (t) => {
  const keys = new SortedKeys();
  keys.add('a');
  t.throws(() => keys.add('a'), /already in the sorted keys/);
  t.throws(() => keys.delete('b'), /not in the sorted keys/);
  keys.delete('a');
  t.throws(() => keys.delete('a'), /not in the sorted keys/);
});

void t.test('a listing after a key is created sorts nothing (it sorted every key before)', async (t) => {
  const sm = new StateMachine();
  const apply = (c: KvCommand): void => void sm.apply(sm.appliedIndex + 1, encodeCommand(c));
  for (let i = 0; i < 50_000; i++) apply({ kind: 'kv', op: 'put', key: `key/${(i * 7919) % 50_000}`, value: new Uint8Array(0) });
  t.equal(sm.kv.size, 50_000);
  // Count the sorts of more than a thousand elements while a fresh key is put and one key listed.
  const original = Array.prototype.sort;
  let largeSorts = 0;
  Array.prototype.sort = function <T>(this: T[], compare?: (a: T, b: T) => number): T[] {
    if (this.length > 1000) largeSorts++;
    return original.call(this, compare) as T[];
  };
  try {
    for (let i = 0; i < 20; i++) {
      apply({ kind: 'kv', op: 'put', key: `fresh/${i}`, value: new Uint8Array(0) });
      const listed = sm.kv.list('fresh/', { limit: 1 });
      if (listed.items[0]?.key !== 'fresh/0') t.fail(`listing ${i}: expected fresh/0 first, found ${listed.items[0]?.key}`);
      apply({ kind: 'kv', op: 'delete', key: `key/${i}` });
      sm.kv.list('key/', { limit: 1 });
    }
  } finally {
    Array.prototype.sort = original;
  }
  t.equal(largeSorts, 0, 'no listing sorted the 50,000 keys');
  t.same(
    sm.kv.list('key/', { limit: 3 }).items.map((r) => r.key),
    ['key/100', 'key/1000', 'key/10000'],
    'the deleted keys are gone from the listing, in code-unit order',
  );
});
