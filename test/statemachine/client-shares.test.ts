/**
 * The exactly-once table shared out by owner (cluster version 0.5, dedup.ts, owner-shares.ts):
 * a flood of fresh ids under one certificate evicts that certificate's own records once it holds
 * the most, so another caller's records stay and its retries are answered from the cache; only
 * the flooding owner's unknown-id retries are refused SESSION_EXPIRED. Below the level the table
 * is one pool as before (session-expiry.test.ts). A table of 6 stands for the 10,000.
 */
import t from 'tap';
import {
  CONTROLLER_CLIENT_ID_PREFIX,
  StateMachine,
  encodeCommand,
  type ClientTag,
  type Envelope,
  type KvCommand,
} from '../../src/statemachine/index.js';
import { seededRng } from '../../src/util/rng.js';
import { b, run, text } from './tagged-entries.js';

const MAX = 6;
const EXPIRED = { ok: false, code: 'SESSION_EXPIRED', message: /^the outcome of this write is unknown/ };
const put = (key: string, value: string, client: ClientTag): Envelope<KvCommand> => ({ kind: 'kv', op: 'put', key, value: b(value), client });
const retry = (tag: ClientTag): ClientTag => ({ ...tag, retry: true });

/** A state machine at cluster `version`, its table MAX records. */
function machine(version: string): StateMachine {
  const sm = new StateMachine({ maxClients: MAX });
  sm.apply(1, encodeCommand({ kind: 'cluster', op: 'set-version', version }));
  return sm;
}

/** `n` puts under fresh ids of one owner (none: entries without an owner, as below 0.5). */
function flood(sm: StateMachine, n: number, owner?: string, from = 0): void {
  for (let i = from; i < from + n; i++) run(sm, put(`flood/${i}`, 'x', { id: `attacker-${i}`, seq: 1, ...(owner === undefined ? {} : { owner }) }));
}

const alice = 'cn:alice';
const mallory = 'cn:mallory';

void t.test("a flood under one certificate keeps another's records: its retry is answered from the cache", async (t) => {
  const sm = machine('0.5');
  const honest: ClientTag = { id: 'honest', seq: 1, owner: alice };
  const first = run(sm, put('shared', 'honest', honest));
  t.same(first, { ok: true, revision: 1 });
  run(sm, put('shared', 'third', { id: 'third', seq: 1, owner: alice }));
  flood(sm, 10 * MAX, mallory);
  const revision = sm.revision();
  t.same(run(sm, put('shared', 'honest', retry(honest))), first, 'the cached answer, not SESSION_EXPIRED (the old table dropped it)');
  t.equal(text(sm.kv.get('shared')?.value), 'third', 'not applied again over the later write');
  t.equal(sm.revision(), revision);
  t.match(run(sm, put('k', 'v', retry({ id: 'never-seen', seq: 1, owner: alice }))), { ok: true }, "an unknown id of an owner that never lost a record is a first apply");
});

void t.test("the flooding owner's own evicted retry is still refused SESSION_EXPIRED, nothing applied", async (t) => {
  const sm = machine('0.5');
  run(sm, put('a', '1', { id: 'a', seq: 1, owner: alice }));
  const own: ClientTag = { id: 'mine', seq: 1, owner: mallory };
  t.match(run(sm, put('m', 'first', own)), { ok: true });
  run(sm, put('m', 'later', { id: 'other', seq: 1, owner: alice }));
  flood(sm, 2 * MAX, mallory);
  const late = run(sm, put('m', 'first', retry(own)));
  t.match(late, EXPIRED);
  t.match(late, { message: /has evicted records of its caller "cn:mallory"/ });
  t.equal(text(sm.kv.get('m')?.value), 'later');
  t.match(run(sm, put('z', 'v', retry({ id: 'unknown', seq: 1, owner: mallory }))), EXPIRED, 'any unknown id of that owner');
});

void t.test("the controllers' own report ids survive an operator's flood", async (t) => {
  const sm = machine('0.5');
  const report: ClientTag = { id: `${CONTROLLER_CLIENT_ID_PREFIX}c1`, seq: 7 };
  const first = run(sm, put('agents-report', 'r', report));
  flood(sm, 10 * MAX, mallory);
  t.same(run(sm, put('agents-report', 'r', retry(report))), first, 'still recorded: the cached answer');
  t.match(run(sm, put('agents-report', 'r', { ...report, seq: 6 })), { ok: false, code: 'STALE_REQUEST' }, 'and its seq still guards against an older report');
});

/** The snapshot's clients field. */
function clientsOf(sm: StateMachine): unknown {
  return (JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { clients: unknown }).clients;
}

interface OwnedTable {
  readonly records: readonly (readonly unknown[])[];
  readonly dropped: readonly string[];
  readonly legacyDropped: boolean;
}

/** The ids the table holds, least recently applied first. */
function heldIds(sm: StateMachine): string[] {
  return (clientsOf(sm) as OwnedTable).records.map((r) => r[0] as string);
}

void t.test('eviction takes from the owner holding the most; among equals, the least recently applied', async (t) => {
  const sm = machine('0.5');
  const at = (id: string, owner: string): void => void run(sm, put(id, 'v', { id, seq: 1, owner }));
  for (const [id, owner] of [['a1', alice], ['m1', mallory], ['a2', alice], ['m2', mallory], ['p1', 'plaintext'], ['a3', alice]] as const) at(id, owner);
  t.same(heldIds(sm), ['a1', 'm1', 'a2', 'm2', 'p1', 'a3'], 'full, nothing evicted yet');
  at('m3', mallory);
  t.same(heldIds(sm), ['m1', 'a2', 'm2', 'p1', 'a3', 'm3'], 'alice and mallory hold 3 each: alice\'s a1 is the oldest of theirs');
  at('m4', mallory);
  t.same(heldIds(sm), ['a2', 'm2', 'p1', 'a3', 'm3', 'm4'], 'mallory holds the most: its oldest goes');
  at('p2', 'plaintext');
  t.same(heldIds(sm), ['a2', 'p1', 'a3', 'm3', 'm4', 'p2'], 'mallory still holds the most');
  t.same((clientsOf(sm) as OwnedTable).dropped, [alice, mallory], 'the owners that lost records, in order');
});

void t.test('snapshot round trip with owners: the same table, the same decisions, byte-identical', async (t) => {
  const a = machine('0.5');
  const report: ClientTag = { id: `${CONTROLLER_CLIENT_ID_PREFIX}c2`, seq: 1 };
  run(a, put('r', 'v', report));
  run(a, put('h', 'v', { id: 'honest', seq: 1, owner: alice }));
  flood(a, 2 * MAX, mallory);
  const owned = clientsOf(a) as OwnedTable;
  t.same(owned.dropped, [mallory]);
  t.equal(owned.legacyDropped, false);
  t.same(owned.records.find((r) => r[0] === report.id)?.[6], 'internal:controllers', 'the internal owner, told by the id');
  t.same(owned.records.find((r) => r[0] === 'honest')?.slice(6), [alice]);
  const b2 = new StateMachine({ maxClients: MAX });
  b2.restore(a.snapshot());
  t.same(b2.snapshot(), a.snapshot(), 'byte-identical');
  const steps = [put('h', 'v', retry({ id: 'honest', seq: 1, owner: alice })), put('x', 'v', retry({ id: 'attacker-0', seq: 1, owner: mallory })), put('y', 'v', retry({ id: 'new', seq: 1, owner: alice }))];
  for (const step of steps) t.same(run(b2, step), run(a, step));
  const late = put('x', 'v', retry({ id: 'attacker-1', seq: 1, owner: mallory }));
  t.match(run(a, late), EXPIRED);
  t.match(run(b2, late), EXPIRED);
  t.same(b2.snapshot(), a.snapshot());
});

void t.test('an owned snapshot is read as untrusted input', async (t) => {
  const a = machine('0.5');
  run(a, put('h', 'v', { id: 'honest', seq: 1, owner: alice }));
  run(a, put('r', 'v', { id: `${CONTROLLER_CLIENT_ID_PREFIX}c1`, seq: 1 }));
  const doc = JSON.parse(new TextDecoder().decode(a.snapshot().subarray(1))) as { clients: OwnedTable };
  const refused = (clients: unknown, why: RegExp): void => {
    const bytes = new TextEncoder().encode(`\u0001${JSON.stringify({ ...doc, clients })}`);
    t.throws(() => new StateMachine({ maxClients: MAX }).restore(bytes), why);
  };
  const record = doc.clients.records[0]!;
  const withRecord = (r: readonly unknown[]): OwnedTable => ({ ...doc.clients, records: [r, doc.clients.records[1]!] });
  refused({ ...doc.clients, extra: 1 }, /clients: unexpected field "extra"/);
  refused({ ...doc.clients, dropped: [7] }, /dropped/);
  refused({ ...doc.clients, dropped: [alice, alice] }, /each owner once/);
  refused({ ...doc.clients, dropped: [''] }, /must not be empty/);
  refused({ records: doc.clients.records, dropped: [] }, /legacyDropped/);
  refused(withRecord([...record.slice(0, 6), 42]), /owner must be a string or null/);
  refused(withRecord([...record.slice(0, 6), 'x'.repeat(129)]), /at most 128 bytes/);
  refused(withRecord([...record.slice(0, 6), 'internal:controllers']), /controllers' own owner/);
  refused(withRecord(record.slice(0, 6)), /expected \[id, seq, index, result, hash, what, owner\]/);
  refused({ ...doc.clients, records: [record, [...doc.clients.records[1]!.slice(0, 6), alice]] }, /a controller's own id is owned by "internal:controllers"/);
  refused(withRecord([...record.slice(0, 4), 'xyz', null, alice]), /hash must be hex/);
});

void t.test('an entry refuses an owner no caller can have', async (t) => {
  const sm = machine('0.5');
  t.match(run(sm, put('k', 'v', { id: 'c', seq: 1, owner: 'internal:controllers' })), { ok: false, code: 'INVALID', message: /owner.*controllers' own/ });
  t.match(run(sm, put('k', 'v', { id: 'c', seq: 1, owner: '' })), { ok: false, code: 'INVALID', message: /owner.*must not be empty/ });
  t.match(run(sm, put('k', 'v', { id: 'c', seq: 1, owner: 'y'.repeat(200) })), { ok: false, code: 'INVALID', message: /owner.*at most 128 bytes/ });
});

void t.test('below 0.5 the table is one pool as before: the flood evicts everyone, the snapshot keeps the old form', async (t) => {
  const sm = machine('0.4');
  const honest: ClientTag = { id: 'honest', seq: 1, owner: alice };
  run(sm, put('shared', 'honest', honest));
  flood(sm, MAX, mallory);
  t.match(run(sm, put('shared', 'honest', retry(honest))), EXPIRED, 'refused as before (least recently applied evicted first)');
  const clients = clientsOf(sm);
  t.ok(Array.isArray(clients) && (clients as unknown[][]).every((r) => r.length === 4 || r.length === 6), 'records as 0.4 members read them, no owner');
});

void t.test('an old snapshot (no owners) loads, and is shared out from 0.5 on: what it may have dropped stays judged as before', async (t) => {
  const old = machine('0.4');
  const honest: ClientTag = { id: 'honest', seq: 1 };
  const first = run(old, put('h', 'v', honest));
  flood(old, MAX - 1);
  t.ok(Array.isArray(clientsOf(old)), 'the shared form');
  const sm = new StateMachine({ maxClients: MAX });
  sm.restore(old.snapshot());
  t.same(sm.snapshot(), old.snapshot(), 'loaded, and written back unchanged');
  t.same(run(sm, put('h', 'v', retry(honest))), first, 'its records answer as before');
  run(sm, { kind: 'cluster', op: 'set-version', version: '0.5' } as unknown as Envelope<KvCommand>);
  t.same(run(sm, put('h', 'v', retry(honest))), first, 'and at 0.5 too (an entry without an owner)');
  // Full when shared out: the old pool may have dropped anyone's record.
  t.match(run(sm, put('k', 'v', retry({ id: 'lost?', seq: 1, owner: alice }))), EXPIRED, 'an unknown id, while records from before owners remain');
  t.equal((clientsOf(sm) as OwnedTable).legacyDropped, true);
  run(sm, put('a', 'v', { id: 'a-1', seq: 1, owner: alice }));
  t.notOk(heldIds(sm).includes('honest'), 'a full table evicts records from before owners first');
  flood(sm, MAX - 2, mallory);
  t.match(run(sm, put('k', 'v', retry({ id: 'lost?', seq: 1, owner: alice }))), EXPIRED, 'still: one record from before owners remains');
  flood(sm, MAX, mallory, 100);
  t.notOk((clientsOf(sm) as OwnedTable).records.some((r) => r[6] === null), 'the records from before owners are gone');
  t.ok(heldIds(sm).includes('a-1'), "alice's record stayed through mallory's flood");
  t.match(run(sm, put('k', 'v', retry({ id: 'lost?', seq: 1, owner: alice }))), { ok: true }, 'now an owner that never lost a record is not refused');
  t.match(run(sm, put('k', 'v', retry({ id: 'flood?', seq: 1, owner: mallory }))), EXPIRED, 'the flooding owner still is');
  t.match(run(sm, put('k', 'v', retry({ id: 'old-style', seq: 1 }))), EXPIRED, 'and an entry without an owner is judged as before: the table is full');
});

void t.test('against a plain model: 1,500 seeded steps pick the same victims, and a restored replica decides alike', async (t) => {
  const rng = seededRng(0x5eed);
  const rand = (n: number): number => rng.int(0, n);
  const owners = [alice, mallory, 'cn:bob', 'plaintext'];
  const sm = machine('0.5');
  let replica = new StateMachine({ maxClients: MAX });
  replica.restore(sm.snapshot());
  /** The model: [id, owner] in last-applied order; evicts by brute force. */
  let model: [string, string][] = [];
  let mismatches = 0;
  let ties = 0;
  for (let step = 0; step < 1500; step++) {
    // A skewed mix: mallory writes most, ids are reused now and then.
    const owner = owners[rand(10) < 6 ? 1 : rand(owners.length)]!;
    const id = `${owner}/${rand(12)}`;
    const seq = step + 1;
    const command = put('k', String(step), { id, seq, owner });
    const result = run(sm, command);
    if (JSON.stringify(run(replica, command)) !== JSON.stringify(result)) mismatches++;
    model = model.filter(([m]) => m !== id);
    model.push([id, owner]);
    if (model.length > MAX) {
      const counts = new Map<string, number>();
      for (const [, o] of model) counts.set(o, (counts.get(o) ?? 0) + 1);
      const most = Math.max(...counts.values());
      if ([...counts.values()].filter((c) => c === most).length > 1) ties++;
      // The first record in applied order whose owner holds the most: that owner's oldest, and among equals the older.
      const victim = model.findIndex(([, o]) => counts.get(o) === most);
      model.splice(victim, 1);
    }
    if (heldIds(sm).join() !== model.map(([m]) => m).join()) mismatches++;
    if (step % 500 === 499) {
      t.same(replica.snapshot(), sm.snapshot(), `step ${step + 1}: byte-identical`);
      replica = new StateMachine({ maxClients: MAX });
      replica.restore(sm.snapshot());
    }
  }
  t.equal(mismatches, 0, 'the table held what the model held after every step, and the replica answered alike');
  t.ok(ties >= 100, `evictions among owners holding equally many: ${ties}`);
  t.same(replica.snapshot(), sm.snapshot());
});

void t.test("from 0.6 a caller cannot write under another's client id: no stale poisoning, no cached answer, no takeover to flood away", async (t) => {
  // Any operator reads client ids from a saved snapshot. Before (attack round 13) mallory's put
  // under alice's id with a later seq was applied and took the record: alice's next writes were
  // refused STALE_REQUEST, and mallory sending alice's request again got alice's cached answer.
  const sm = machine('0.6');
  run(sm, put('other', 'x', { id: 'bob-1', seq: 1, owner: 'cn:bob' }));
  const honest: ClientTag = { id: 'alice-1', seq: 5, owner: alice };
  const first = run(sm, put('counter', 'applied-once', honest));
  t.match(first, { ok: true });
  const revision = sm.revision();
  const OTHERS = { ok: false, code: 'INVALID', message: /^client id "alice-1" belongs to another caller .*nothing applied/ };
  t.match(run(sm, put('elsewhere', 'm', { id: 'alice-1', seq: 2 ** 40, owner: mallory })), OTHERS, 'a seq far ahead under her id: refused');
  t.match(run(sm, put('counter', 'applied-once', { id: 'alice-1', seq: 5, owner: mallory })), OTHERS, 'her own request under her id: refused, not her cached answer');
  t.match(run(sm, put('counter', 'x', { id: 'alice-1', seq: 1, owner: mallory })), OTHERS, 'an older seq: refused alike (her latest seq is not told)');
  t.equal(sm.revision(), revision, 'nothing applied');
  t.equal(sm.kv.get('elsewhere'), null);
  t.same(run(sm, put('counter', 'applied-once', retry(honest))), first, "alice's retry is answered from the cache");
  t.match(run(sm, put('counter', 'next', { id: 'alice-1', seq: 6, owner: alice })), { ok: true }, 'and her next write applies, not STALE_REQUEST');
  flood(sm, 2 * MAX, mallory);
  t.ok(heldIds(sm).includes('bob-1') && heldIds(sm).includes('alice-1'), "mallory's flood evicted her own records only");
  t.same((clientsOf(sm) as OwnedTable).dropped, [mallory], 'only mallory lost records');
  const replica = new StateMachine({ maxClients: MAX });
  replica.restore(sm.snapshot());
  t.match(run(replica, put('elsewhere', 'm', { id: 'alice-1', seq: 7, owner: mallory })), OTHERS, 'a restored replica refuses alike');
  // An entry naming no owner (proposed below the level) is judged as before: it takes the record.
  t.match(run(sm, put('elsewhere', 'old', { id: 'alice-1', seq: 7 })), { ok: true }, 'an ownerless entry is judged by seq as before');
  t.ok((clientsOf(sm) as OwnedTable).dropped.includes(alice), 'and alice counts as having lost that record');
});

void t.test("at 0.5 (a cluster with a 0.5.0 member) client ids are not owned, as 0.5.0 members judge them: a takeover then a flood does not get the owner's retry applied twice", async (t) => {
  // Below OWNED_CLIENT_ID_VERSION client ids are not owned (0.5.0 members apply this): mallory moves
  // alice's record to herself with a later seq, then her flood evicts it as her own. Alice's
  // in-flight write (applied, answer lost) is then retried: unknown id, and alice lost nothing.
  const sm = machine('0.5');
  run(sm, put('other', 'x', { id: 'bob-1', seq: 1, owner: 'cn:bob' }));
  const honest: ClientTag = { id: 'alice-1', seq: 5, owner: alice };
  t.match(run(sm, put('counter', 'applied-once', honest)), { ok: true });
  t.match(run(sm, put('elsewhere', 'm', { id: 'alice-1', seq: 6, owner: mallory })), { ok: true }, 'the id taken over');
  t.match(run(sm, put('counter', 'applied-once', retry(honest))), { ok: false, code: 'STALE_REQUEST' }, 'meanwhile a retry is stale, not applied');
  flood(sm, 2 * MAX, mallory);
  t.notOk(heldIds(sm).includes('alice-1'), 'evicted with mallory\'s own records');
  t.ok(heldIds(sm).includes('bob-1'), "bob's record stayed");
  const revision = sm.revision();
  t.match(run(sm, put('counter', 'applied-twice', retry(honest))), EXPIRED, 'refused: the record alice lost to the takeover may be gone');
  t.equal(sm.revision(), revision, 'nothing applied');
  t.same((clientsOf(sm) as OwnedTable).dropped.includes(alice), true, 'alice counts as having lost a record, in the snapshot too');
  const replica = new StateMachine({ maxClients: MAX });
  replica.restore(sm.snapshot());
  t.match(run(replica, put('counter', 'applied-twice', retry({ ...honest, seq: 5 }))), EXPIRED, 'a restored replica decides alike');
  t.match(run(sm, put('k', 'v', retry({ id: 'bob-new', seq: 1, owner: 'cn:bob' }))), { ok: true }, "an owner whose records were never taken is not affected");
});

void t.test('seeded interleaving: replicas restored at random points, from any snapshot, across the raises to 0.5 and 0.6, decide and snapshot alike', async (t) => {
  const rng = seededRng(0x0d15ea5e);
  const rand = (n: number): number => rng.int(0, n);
  const live = machine('0.4');
  const log: Uint8Array[] = [encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.4' })];
  /** Snapshots of the live machine taken so far, with the log length they cover. */
  const taken: { readonly bytes: Uint8Array; readonly at: number }[] = [{ bytes: live.snapshot(), at: 1 }];
  const fromSnapshot = (s: { readonly bytes: Uint8Array; readonly at: number }): StateMachine => {
    const r = new StateMachine({ maxClients: MAX });
    r.restore(s.bytes);
    for (let i = s.at; i < log.length; i++) r.apply(i + 1, log[i]!);
    return r;
  };
  // A follower that keeps applying, one restored from the live table now and then (InstallSnapshot),
  // one that restarts from its own snapshot now and then, and one caught up from an older snapshot.
  const replicas = { follower: fromSnapshot(taken[0]!), installed: fromSnapshot(taken[0]!), restarted: fromSnapshot(taken[0]!), caughtUp: fromSnapshot(taken[0]!) };
  const owners = [alice, mallory, 'cn:bob', 'plaintext'];
  const seqs = new Map<string, number>();
  const raiseAt = 100 + rand(150);
  // Then to 0.6, where client ids become owned: takeovers between the two raises still apply.
  const ownAt = raiseAt + 200 + rand(150);
  let raised = false;
  let mismatches = 0;
  let snapshotsApart = 0;
  const seen = { expired: 0, stale: 0, invalid: 0, othersId: 0, takeovers: 0, ownerless: 0 };
  /** Who last wrote under each id (after the raise): a write by another owner takes the record. */
  const writer = new Map<string, string | undefined>();
  for (let step = 0; step < 1200; step++) {
    let entry: Uint8Array;
    if (step === raiseAt || step === ownAt) {
      entry = encodeCommand({ kind: 'cluster', op: 'set-version', version: step === raiseAt ? '0.5' : '0.6' });
      raised = true;
    } else {
      const internal = rand(20) === 0;
      const id = internal ? `${CONTROLLER_CLIENT_ID_PREFIX}c${rand(2)}` : `id-${rand(rand(4) === 0 ? 40 : 12)}`;
      // Before the raise no entry names an owner; after it, now and then one proposed below it still arrives.
      const ownerless = internal || !raised || rand(25) === 0;
      if (raised && ownerless && !internal) seen.ownerless++;
      const owner = ownerless ? undefined : owners[rand(10) < 5 ? 1 : rand(owners.length)]!;
      if (raised && writer.has(id) && writer.get(id) !== owner) seen.takeovers++;
      if (raised) writer.set(id, owner);
      const last = seqs.get(id) ?? 0;
      const pick = rand(10);
      // Mostly the next seq; else a retry of the last (same request or another), or an older one.
      const seq = pick < 6 || last === 0 ? last + 1 + rand(2) : pick < 9 ? last : Math.max(0, last - 1 - rand(3));
      seqs.set(id, Math.max(last, seq));
      const value = pick === 8 ? `other-${step}` : `v-${id}-${seq}`;
      entry = encodeCommand(put(`k${rand(8)}`, value, { id, seq, ...(owner === undefined ? {} : { owner }), ...(rand(3) === 0 ? { retry: true } : {}) }));
    }
    log.push(entry);
    const index = log.length;
    const result = JSON.stringify(live.apply(index, entry));
    if (result.includes('SESSION_EXPIRED')) seen.expired++;
    if (result.includes('STALE_REQUEST')) seen.stale++;
    if (result.includes('belongs to another caller')) seen.othersId++;
    else if (result.includes('"INVALID"')) seen.invalid++;
    for (const r of Object.values(replicas)) if (JSON.stringify(r.apply(index, entry)) !== result) mismatches++;
    const now = live.snapshot();
    for (const r of Object.values(replicas)) if (Buffer.compare(Buffer.from(r.snapshot()), Buffer.from(now)) !== 0) snapshotsApart++;
    if (rand(7) === 0) taken.push({ bytes: now, at: index });
    if (rand(11) === 0) replicas.installed = fromSnapshot({ bytes: now, at: index });
    if (rand(13) === 0) replicas.restarted = fromSnapshot({ bytes: replicas.restarted.snapshot(), at: index });
    if (rand(17) === 0) replicas.caughtUp = fromSnapshot(taken[rand(taken.length)]!);
  }
  const table = clientsOf(live) as OwnedTable;
  t.equal(mismatches, 0, 'every replica answered every entry as the live table did');
  t.equal(snapshotsApart, 0, 'and held byte-identical snapshots after every entry');
  t.ok(raised && !Array.isArray(table), `raised to 0.5 at entry ${raiseAt + 2} and to 0.6 at entry ${ownAt + 2}: the owned form`);
  // Writes under another owner's id are refused (othersId), so fewer reach the seq checks.
  t.ok(seen.expired >= 20 && seen.stale >= 15 && seen.invalid >= 20 && seen.othersId >= 100 && seen.takeovers >= 100 && seen.ownerless >= 20, `the mix reached every path: ${JSON.stringify(seen)}`);
  t.ok(table.dropped.length >= 3, `owners that lost records: ${table.dropped.join(', ')}`);
});

void t.test('from 0.6 the owners that lost records are named up to the table bound; past it they are forgotten and judged as before owners', async (t) => {
  // Before (attack round 13) the names only grew: 200,000 puts under fresh owners (a member's
  // forwards may claim any) left 190,000 in every replica, a 24.7 MB snapshot.
  const sm = machine('0.6');
  const first: ClientTag = { id: 'first-1', seq: 1, owner: 'cn:first' };
  t.match(run(sm, put('f', 'once', first)), { ok: true });
  for (let i = 0; i < 20 * MAX; i++) run(sm, put('k', 'x', { id: `one-${i}`, seq: 1, owner: `cn:owner-${i}` }));
  const table = clientsOf(sm) as OwnedTable & { forgotten?: boolean };
  t.ok(table.dropped.length <= MAX, `at most ${MAX} owners named, found ${table.dropped.length}`);
  t.equal(table.forgotten, true, 'and the snapshot says some were forgotten');
  t.notOk(table.dropped.includes('cn:first'), 'the first to lose one was forgotten first');
  const revision = sm.revision();
  t.match(run(sm, put('f', 'twice', retry(first))), EXPIRED, "a forgotten owner's evicted retry is still refused, never applied twice");
  t.match(run(sm, put('k', 'v', retry({ id: 'never-seen', seq: 1, owner: 'cn:newcomer' }))), EXPIRED, 'an owner not named is judged as before owners: refused, the table being full');
  t.equal(sm.revision(), revision, 'nothing applied');
  t.match(run(sm, put('k', 'v', { id: 'never-seen', seq: 1, owner: 'cn:newcomer' })), { ok: true }, 'a first attempt is never refused');
  const replica = new StateMachine({ maxClients: MAX });
  replica.restore(sm.snapshot());
  t.same(replica.snapshot(), sm.snapshot(), 'a restored replica holds the same table');
  t.match(run(replica, put('f', 'twice', retry(first))), EXPIRED, 'and decides alike');
  const quiet = machine('0.6');
  run(quiet, put('k', 'v', { id: 'a', seq: 1, owner: alice }));
  t.notOk('forgotten' in (clientsOf(quiet) as object), 'a table that forgot nothing writes the form it wrote before');
});

void t.test('at 0.5 every owner that lost records stays named, as 0.5.0 members keep them; the raise to 0.6 forgets the first past the bound at once', async (t) => {
  const sm = machine('0.5');
  for (let i = 0; i < 4 * MAX; i++) run(sm, put('k', 'x', { id: `one-${i}`, seq: 1, owner: `cn:owner-${i}` }));
  const before = clientsOf(sm) as OwnedTable & { forgotten?: boolean };
  t.ok(before.dropped.length > MAX, `more than ${MAX} owners named at 0.5: ${before.dropped.length}`);
  t.notOk('forgotten' in before, 'and the snapshot form 0.5.0 members read');
  const replica = new StateMachine({ maxClients: MAX });
  replica.restore(sm.snapshot());
  for (const m of [sm, replica]) m.apply(m.appliedIndex + 1, encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.6' }));
  for (const m of [sm, replica]) run(m, put('k', 'y', { id: 'after-raise', seq: 1, owner: alice }));
  const after = clientsOf(sm) as OwnedTable & { forgotten?: boolean };
  t.ok(after.dropped.length <= MAX, `at most ${MAX} named after the first request at 0.6: ${after.dropped.length}`);
  t.equal(after.forgotten, true);
  t.notOk(after.dropped.includes('cn:owner-0'), 'the first named went first');
  t.same(replica.snapshot(), sm.snapshot(), 'a replica restored before the raise holds the same table after it');
});
