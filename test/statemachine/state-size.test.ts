/**
 * The state's size as controller.quota_bytes counts it (src/api/state-quota.ts): the kv kind
 * keeps an upper bound of its snapshot's length as keys are written, overwritten and deleted,
 * and restored; the quota refuses growth past it and lets deletes and shrinking writes through.
 * Values are drawn from a seeded generator (seed printed): text, control characters, bytes that
 * are not UTF-8, and non-ASCII keys, each of which a snapshot writes differently.
 */
import t from 'tap';
import { StateMachine, encodeCommand, kvKind, type KvCommand } from '../../src/statemachine/index.js';
import { StateQuota, MEASURE_OTHERS_EVERY_MS } from '../../src/api/state-quota.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { seededRng, type Rng } from '../../src/util/rng.js';

const SEED = 23;

function apply(sm: StateMachine, c: KvCommand): void {
  const r = sm.apply(sm.appliedIndex + 1, encodeCommand(c));
  if (!r.ok) throw new Error(`${c.op} ${c.key} failed: ${r.message}`);
}

/** The kv kind's part of a real snapshot, as JSON text. */
function kvSnapshotLength(sm: StateMachine): number {
  const text = new TextDecoder().decode(sm.snapshot().subarray(1));
  const body = JSON.parse(text) as { kinds: Record<string, unknown> };
  return JSON.stringify(body.kinds['kv'] ?? []).length;
}

function value(rng: Rng): Uint8Array {
  const n = Math.floor(rng.next() * 3000);
  const out = new Uint8Array(n);
  const style = Math.floor(rng.next() * 3);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    // 0: printable text; 1: mostly control characters (valid UTF-8); 2: any byte (mostly not UTF-8).
    out[i] = style === 0 ? 32 + Math.floor(r * 95) : style === 1 ? Math.floor(r * 32) : Math.floor(r * 256);
  }
  return out;
}

function key(rng: Rng): string {
  const n = 1 + Math.floor(rng.next() * 40);
  let k = '';
  for (let i = 0; i < n; i++) k += rng.next() < 0.2 ? String.fromCharCode(1 + Math.floor(rng.next() * 31)) : rng.next() < 0.1 ? 'é' : String.fromCharCode(97 + Math.floor(rng.next() * 26));
  return k;
}

void t.test(`the kv kind's kept size bounds its snapshot through puts, overwrites, deletes and a restore (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED);
  const sm = new StateMachine();
  const keys: string[] = [];
  for (let step = 0; step < 400; step++) {
    const r = rng.next();
    if (r < 0.6 || keys.length === 0) {
      const k = key(rng);
      apply(sm, { kind: 'kv', op: 'put', key: k, value: value(rng) });
      if (!keys.includes(k)) keys.push(k);
    } else if (r < 0.8) {
      apply(sm, { kind: 'kv', op: 'put', key: keys[Math.floor(rng.next() * keys.length)]!, value: value(rng) });
    } else {
      const [k] = keys.splice(Math.floor(rng.next() * keys.length), 1);
      apply(sm, { kind: 'kv', op: 'delete', key: k! });
    }
  }
  const kept = sm.snapshotLength().kept;
  const actual = kvSnapshotLength(sm);
  t.ok(kept >= actual, `kept ${kept} >= the snapshot's ${actual}`);
  t.ok(kept <= actual * 1.6 + 100 * sm.kv.size, `and not far above it (${kept} against ${actual} over ${sm.kv.size} keys)`);
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  t.equal(restored.snapshotLength().kept, kept, 'a restored state keeps the same size');
  for (const k of [...keys]) apply(sm, { kind: 'kv', op: 'delete', key: k });
  t.equal(sm.view(kvKind).size, 0);
  t.equal(sm.snapshotLength().kept, new StateMachine().snapshotLength().kept, 'all deleted: nothing of the keys is left counted (the other kept kinds are empty)');
});

void t.test('the quota refuses growth past it, lets shrinking writes and deletes through, and measures the other kinds seldom', async (t) => {
  const sm = new StateMachine();
  let now = 0;
  let measured = 0;
  const sized = {
    snapshotLength: () => {
      const s = sm.snapshotLength();
      return { kept: s.kept, measure: () => (measured++, s.measure()) };
    },
  };
  const quota = new StateQuota(10_000, sized, () => now);
  apply(sm, { kind: 'kv', op: 'put', key: 'a', value: new Uint8Array(6000) });
  const used = quota.used();
  t.ok(used > 8000 && used < 10_000, `a 6000-byte value counts as ${used} (4/3 of it and the rest)`);
  t.doesNotThrow(() => quota.check(10_000 - used, 'a put that just fits'));
  const refused = (() => {
    try {
      quota.check(10_001 - used, 'put of "b"');
      return null;
    } catch (err) {
      return err;
    }
  })();
  t.ok(refused instanceof ServiceFailure && refused.code === 'NO_SPACE', 'one byte more: NO_SPACE');
  t.match((refused as Error).message, /^put of "b" refused: the cluster's state would pass its quota \(about \d+ bytes of controller\.quota_bytes 10000, and this adds \d+\)/);
  t.doesNotThrow(() => quota.check(0, 'an overwrite of the same size'));
  t.doesNotThrow(() => quota.check(-500, 'a smaller value'));
  t.equal(measured, 1, 'the other kinds were measured once');
  now += MEASURE_OTHERS_EVERY_MS - 1;
  quota.used();
  t.equal(measured, 1, 'not again within the interval');
  now += 1;
  quota.used();
  t.equal(measured, 2, 'again once it has passed');
});
