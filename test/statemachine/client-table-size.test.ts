/**
 * The exactly-once table keeps an upper bound of its snapshot's length as records come, are
 * replaced, evicted and restored (dedup.ts), so controller.quota_bytes counts it without
 * serializing it: a table of large cached results (4 MB after 15 applies of 5,000 resources),
 * serialized every 5 s, held a loaded leader's loop 60-340 ms. Records are drawn from a seeded
 * generator (seed printed): ids and owners with characters JSON escapes, results of every size.
 */
import t, { type Test } from 'tap';
import { ClientTable } from '../../src/statemachine/dedup.js';
import { failure, type ApplyResult } from '../../src/statemachine/result.js';
import { StateMachine, encodeCommand } from '../../src/statemachine/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';

const SEED = 31;

function text(rng: Rng, max: number): string {
  const n = 1 + Math.floor(rng.next() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.next() < 0.1 ? String.fromCharCode(1 + Math.floor(rng.next() * 31)) : rng.next() < 0.05 ? '"é\\' : String.fromCharCode(97 + Math.floor(rng.next() * 26));
  return s;
}

function result(rng: Rng): ApplyResult {
  return rng.next() < 0.5 ? { ok: true, revision: Math.floor(rng.next() * 1e6) } : failure('INVALID', text(rng, 3_000));
}

const jsonLength = (table: ClientTable): number => JSON.stringify(table.snapshot()).length;

function checkBound(t: Test, table: ClientTable, phase: string): void {
  const kept = table.snapshotLength();
  const actual = jsonLength(table);
  t.ok(kept >= actual, `${phase}: kept ${kept} >= the snapshot's ${actual}`);
  t.ok(kept <= actual + 64 + 16 * table.size + 200, `${phase}: and close to it (${kept} against ${actual}, ${table.size} records)`);
}

void t.test(`the client table's kept length bounds its snapshot through records, replacements, evictions, owners and a restore (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED);
  const table = new ClientTable(200);
  const ids = Array.from({ length: 300 }, () => text(rng, 30));
  const owners = Array.from({ length: 12 }, () => text(rng, 20));
  let index = 0;
  const step = (share: boolean, owned: boolean): void => {
    const id = ids[Math.floor(rng.next() * ids.length)]!;
    const owner = owners[Math.floor(rng.next() * owners.length)]!;
    table.record({ id, seq: 1 + Math.floor(rng.next() * 100), ...(share ? { owner } : {}) }, result(rng), ++index, rng.next() < 0.5 ? null : { hash: 'ab12', what: text(rng, 40) }, share, owned);
  };
  for (let i = 0; i < 600; i++) step(false, false);
  checkBound(t, table, 'shared form, full and evicting');
  for (let i = 0; i < 600; i++) step(true, false);
  checkBound(t, table, 'shared out by owner');
  for (let i = 0; i < 600; i++) step(true, true);
  checkBound(t, table, 'owners named as losers');
  const restored = new ClientTable(200);
  restored.restore(JSON.parse(JSON.stringify(table.snapshot())));
  t.equal(restored.snapshotLength(), table.snapshotLength(), 'a restored table keeps the same length');
  checkBound(t, restored, 'restored');
});

void t.test("the state machine's kept size counts the client table, so the quota need not serialize it", async (t) => {
  const sm = new StateMachine();
  const before = sm.snapshotLength().kept;
  const long = 'x'.repeat(200);
  // Compare-and-sets that lose: each caches its failure under a fresh client id of 200 characters.
  for (let seq = 1; seq <= 100; seq++) {
    const r = sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'kv', op: 'put', key: `k${seq}`, value: new Uint8Array(0), ifRevision: 999, client: { id: `client-${seq}-${long}`, seq } }));
    if (r.ok) throw new Error('the compare-and-set should have lost');
  }
  const grown = sm.snapshotLength().kept - before;
  t.ok(grown >= 100 * 200, `100 records with ids of 200 characters grew the kept size by ${grown}, without a measure`);
});

void t.test('a table that names 10,000 owners as losers tells its length without serializing them', async (t) => {
  // The quota asks before every write a leader takes. Before, each ask copied and serialized the
  // owners that lost records: 0.7 ms a time for 10,000 (the table's bound) of 60 characters.
  const table = new ClientTable(10_000);
  let index = 0;
  for (let i = 0; i < 20_020; i++) table.record({ id: `c${i}`, seq: 1, owner: `CN=service-${i}-${'x'.repeat(48)}` }, { ok: true, revision: i }, ++index, null, true, true);
  checkBound(t, table, '10,000 owners named, the first forgotten');
  t.ok(JSON.stringify(table.snapshot()).length > 10_000 * 60 * 2, 'the records and the owners named are in the snapshot');
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < 20_000; i++) sum += table.snapshotLength();
  const took = performance.now() - started;
  t.ok(sum > 0);
  t.ok(took < 1_000, `20,000 asks took ${Math.round(took)}ms (before: 16.8 s here, 0.84 ms an ask)`);
});

void t.test('the client table is written into a snapshot in steps, to the same bytes as in one go', async (t) => {
  const sm = new StateMachine();
  const long = 'r'.repeat(200);
  for (let seq = 1; seq <= 300; seq++) {
    sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'kv', op: 'put', key: `k${seq % 7}`, value: new Uint8Array(3), ifRevision: seq % 2 === 0 ? 999 : 0, client: { id: `client-${seq}-${long}`, seq } }));
  }
  const job = sm.startSnapshot();
  let steps = 1;
  // 4,096 units a step: the table alone is about 70,000 units, so it must take many steps.
  while (!job.step(4_096)) steps++;
  t.ok(steps >= 10, `${steps} steps`);
  const text = new TextDecoder().decode(job.bytes().subarray(1));
  const at = text.indexOf('},"clients":');
  t.ok(at > 0);
  const clients = (sm as unknown as { clients: ClientTable }).clients;
  t.equal(text.slice(at), `},"clients":${JSON.stringify(clients.snapshot())}}`, 'the table as JSON.stringify writes it');
  const restored = new StateMachine();
  restored.restore(job.bytes());
  t.same(new TextDecoder().decode(restored.snapshot()), new TextDecoder().decode(job.bytes()), 'and a restore of it writes the same snapshot');
});
