import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditStore } from '../../src/membership/audit-store.js';
import { auditEvent, parseAuditEvent, type AuditEvent } from '../../src/membership/audit.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ev = (ms: number, subject: string, to = 'offline'): AuditEvent =>
  auditEvent(ms, 'c1', 'member.status', { subject, from: 'online', to, reason: 'heartbeat timeout 2230ms' });

void t.test('events are stored under <dataDir>/audit and read back in order, also after a restart', async (t) => {
  const dir = tempDir(t);
  let store = await AuditStore.open(dir, { now: () => T0 });
  // Same millisecond, then a clock step backwards: order is still append order.
  await store.append(ev(T0, 'c2'));
  await store.append(ev(T0, 'c3'));
  await store.append(ev(T0 - 5000, 'c4'));
  t.ok(fs.existsSync(path.join(dir, 'audit')), 'one db at <dataDir>/audit');
  t.same((await store.query()).map((e) => e.subject), ['c2', 'c3', 'c4']);
  await store.close();
  store = await AuditStore.open(dir, { now: () => T0 });
  t.teardown(() => store.close());
  t.equal(store.size(), 3);
  await store.append(ev(T0 - 10_000, 'c5'));
  t.same((await store.query()).map((e) => e.subject), ['c2', 'c3', 'c4', 'c5'], 'keys keep increasing across restarts');
  const first = (await store.query())[0];
  t.same(first, {
    time: '2026-11-23T10:00:00.000Z',
    node: 'c1',
    type: 'member.status',
    subject: 'c2',
    from: 'online',
    to: 'offline',
    reason: 'heartbeat timeout 2230ms',
  });
});

void t.test('query({ sinceMs }) returns the events at or after that time', async (t) => {
  const store = await AuditStore.open(tempDir(t), { now: () => T0 + 60_000 });
  t.teardown(() => store.close());
  for (let i = 0; i < 10; i++) await store.append(ev(T0 + i * 1000, `m${i}`));
  t.same((await store.query({ sinceMs: T0 + 7000 })).map((e) => e.subject), ['m7', 'm8', 'm9']);
  t.same((await store.query({ sinceMs: T0 + 7001 })).map((e) => e.subject), ['m8', 'm9']);
  t.same((await store.query({ sinceMs: T0 + 2000, limit: 2 })).map((e) => e.subject), ['m2', 'm3']);
  t.equal((await store.query({ sinceMs: T0 + 100_000 })).length, 0);
});

void t.test('page() reads the events since a time a page at a time, each after the last key of the one before', async (t) => {
  const store = await AuditStore.open(tempDir(t), { now: () => T0 + 60_000 });
  t.teardown(() => store.close());
  const keys: string[] = [];
  store.follow((_e, key) => void keys.push(key));
  for (let i = 0; i < 10; i++) await store.append(ev(T0 + i * 1000, `m${i}`));
  t.same([...keys].sort(), keys, 'followers hear keys in increasing order');
  const read: string[][] = [];
  let after: string | null = null;
  for (;;) {
    const page = await store.page({ sinceMs: T0 + 2000, after, limit: 3 });
    read.push(page.events.map((e) => e.subject ?? ''));
    if (page.last === null) break;
    after = page.last;
  }
  t.same(read, [['m2', 'm3', 'm4'], ['m5', 'm6', 'm7'], ['m8', 'm9'], []]);
  t.equal(after, keys[9], "the last page's key is the newest event's, as its follower heard it");
});

void t.test('page() since a time past what a key holds (1e308, Infinity, NaN) reads nothing; since -Infinity reads everything', async (t) => {
  const store = await AuditStore.open(tempDir(t), { now: () => T0 + 60_000 });
  t.teardown(() => store.close());
  for (let i = 0; i < 3; i++) await store.append(ev(T0 + i * 1000, `m${i}`));
  for (const sinceMs of [1e308, 1e21, Infinity, NaN, 10 ** 15]) {
    const page = await store.page({ sinceMs, after: null, limit: null });
    t.same(page.events, [], `since ${sinceMs}: nothing`);
  }
  const all = await store.page({ sinceMs: -Infinity, after: null, limit: null });
  t.same(all.events.map((e) => e.subject), ['m0', 'm1', 'm2']);
});

void t.test('newestKey() is the key the newest append was stored under; page({ until }) stops there', async (t) => {
  const store = await AuditStore.open(tempDir(t), { now: () => T0 + 60_000 });
  t.teardown(() => store.close());
  t.equal(await store.newestKey(), null, 'an empty trail has none');
  const keys: string[] = [];
  store.follow((_e, key) => void keys.push(key));
  for (let i = 0; i < 5; i++) void store.append(ev(T0 + i * 1000, `m${i}`));
  const until = await store.newestKey();
  t.equal(until, keys[4], 'the key of the last append, once it is written');
  for (let i = 5; i < 8; i++) await store.append(ev(T0 + i * 1000, `m${i}`));
  const page = await store.page({ sinceMs: 0, after: keys[1] ?? null, limit: 100, until });
  t.same(page.events.map((e) => e.subject), ['m2', 'm3', 'm4'], 'what came after until is left out');
  t.equal(page.last, until);
});

void t.test('retention keeps at most maxEvents, pruning in small batches on append', async (t) => {
  const store = await AuditStore.open(tempDir(t), { maxEvents: 20, pruneBatch: 4, now: () => T0 });
  t.teardown(() => store.close());
  for (let i = 0; i < 20; i++) await store.append(ev(T0, `m${i}`));
  t.equal(store.size(), 20);
  await store.append(ev(T0, 'm20'));
  t.equal(store.size(), 20, 'the oldest one goes as the 21st arrives');
  t.equal((await store.query())[0]?.subject, 'm1');
  for (let i = 21; i < 40; i++) await store.append(ev(T0, `m${i}`));
  const all = await store.query();
  t.equal(all.length, 20);
  t.same(all.map((e) => e.subject), Array.from({ length: 20 }, (_, i) => `m${i + 20}`));
});

void t.test('retention drops events older than maxAge, a bounded batch per append', async (t) => {
  let now = T0;
  const store = await AuditStore.open(tempDir(t), { maxAgeMs: 60_000, pruneBatch: 3, now: () => now, mono: () => now - T0 });
  t.teardown(() => store.close());
  for (let i = 0; i < 10; i++) await store.append(ev(T0 + i, `old${i}`));
  now = T0 + 120_000;
  await store.append(ev(now, 'new0'));
  t.equal(store.size(), 11 - 3, 'one append deletes at most pruneBatch');
  await store.append(ev(now, 'new1'));
  await store.append(ev(now, 'new2'));
  await store.append(ev(now, 'new3'));
  t.same((await store.query()).map((e) => e.subject), ['new0', 'new1', 'new2', 'new3']);
});

void t.test('a wall clock stepped 8 days ahead deletes nothing younger than maxAge by the monotonic clock, and its events keep their place', async (t) => {
  const DAY = 86_400_000;
  let wall = T0;
  let mono = 0;
  const ahead: number[] = [];
  const store = await AuditStore.open(tempDir(t), { maxAgeMs: 7 * DAY, now: () => wall, mono: () => mono, onClockAhead: (ms) => void ahead.push(ms) });
  t.teardown(() => store.close());
  for (let i = 0; i < 15; i++) await store.append(ev(T0 - 60 * 60_000 + i * 1000, `before${i}`));
  mono = 10_000;
  wall = T0 + 8 * DAY + 10_000; // a `date -s` typo: 8 days ahead, above maxAge
  for (let i = 0; i < 5; i++) await store.append(ev(wall, `during${i}`));
  t.equal(store.size(), 20, 'nothing pruned: by the monotonic clock the oldest event is an hour old');
  t.equal(ahead.length, 1, 'the clock running ahead is reported once');
  t.ok(ahead[0]! > 8 * DAY - 10_000, 'by about how far it is ahead');
  t.same((await store.query({ sinceMs: T0 + DAY })).map((e) => e.subject), [], 'events written during the step do not sort days ahead');
  t.equal((await store.query({ sinceMs: T0 - 60 * 60_000 })).length, 20, 'the whole trail is there');
  mono = 20_000;
  wall = T0 + 20_000; // put right
  await store.append(ev(wall, 'after'));
  t.same((await store.query()).map((e) => e.subject).slice(-2), ['during4', 'after'], 'a later event sorts after the ones written during the step');
  // Ordinary retention goes on: 7 days and an hour later, by both clocks, the events above are old.
  mono += 7 * DAY + 60 * 60_000;
  wall += 7 * DAY + 60 * 60_000;
  await store.append(ev(wall, 'week-later'));
  t.same((await store.query()).map((e) => e.subject), ['week-later'], 'events older than maxAge by both clocks are pruned');
  t.equal(ahead.length, 1, 'no new report: the clocks agree');
});

void t.test('follow delivers every later append until unsubscribed; a throwing listener does not block appends', async (t) => {
  const errors: unknown[] = [];
  const store = await AuditStore.open(tempDir(t), { now: () => T0, onListenerError: (e) => errors.push(e) });
  t.teardown(() => store.close());
  await store.append(ev(T0, 'before'));
  const seen: string[] = [];
  const stop = store.follow((e) => seen.push(e.subject ?? ''));
  store.follow(() => {
    throw new Error('listener bug');
  });
  await store.append(ev(T0, 'a'));
  await store.append(ev(T0, 'b'));
  stop();
  await store.append(ev(T0, 'after'));
  t.same(seen, ['a', 'b']);
  t.equal(errors.length, 3);
  t.equal(store.size(), 4);
});

void t.test('invalid events and use after close are refused', async (t) => {
  const store = await AuditStore.open(tempDir(t));
  await t.rejects(store.append({ ...ev(T0, 'x'), time: 'yesterday' }), { code: 'INVALID_AUDIT_EVENT', message: /ISO timestamp/ });
  await t.rejects(store.append({ ...ev(T0, 'x'), type: 'member.exploded' } as unknown as AuditEvent), { code: 'INVALID_AUDIT_EVENT' });
  await store.close();
  await t.rejects(store.append(ev(T0, 'x')), { code: 'AUDIT_STORE_CLOSED' });
  await t.rejects(store.query(), { code: 'AUDIT_STORE_CLOSED' });
});

void t.test('parseAuditEvent accepts the contract example and ignores fields added later', async (t) => {
  const example = JSON.parse(
    '{ "time": "2026-11-23T10:00:00.000Z", "node": "c1", "type": "member.status", "subject": "c3", "from": "online", "to": "offline", "reason": "heartbeat timeout 2230ms", "extra": 1 }',
  ) as unknown;
  t.same(parseAuditEvent(example), {
    time: '2026-11-23T10:00:00.000Z',
    node: 'c1',
    type: 'member.status',
    subject: 'c3',
    from: 'online',
    to: 'offline',
    reason: 'heartbeat timeout 2230ms',
  });
  t.throws(() => parseAuditEvent([]), { code: 'INVALID_AUDIT_EVENT', message: /expected an object, found an array/ });
  t.throws(() => parseAuditEvent({ ...(example as object), node: 3 }), { message: /"node" to be a string, found number/ });
});

void t.test('marks record what was recorded: written with their event, kept across a restart, never counted, listed or pruned as events', async (t) => {
  const dir = tempDir(t);
  let store = await AuditStore.open(dir, { maxEvents: 2, pruneBatch: 4, now: () => T0 });
  t.equal(store.mark('status/c2'), undefined);
  const pending = store.append(ev(T0, 'c2'), { 'status/c2': '14.1' });
  t.equal(store.mark('status/c2'), '14.1', 'visible at once, before the write completes');
  await pending;
  for (let i = 0; i < 5; i++) await store.append(ev(T0 + i, `m${i}`));
  t.equal(store.size(), 2, 'retention counts events only');
  t.same((await store.query()).map((e) => e.subject), ['m3', 'm4'], 'queries list events only');
  await store.close();
  store = await AuditStore.open(dir, { maxEvents: 2, now: () => T0 });
  t.teardown(() => store.close());
  t.equal(store.mark('status/c2'), '14.1', 'the mark survived pruning and a restart');
  t.equal(store.size(), 2);
});
