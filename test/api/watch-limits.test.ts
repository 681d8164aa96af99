/**
 * The watch limits (src/api/watch-limits.ts): a client's watches and all of a controller's are
 * capped, refusals name the cap and how many are open; the bytes all watches hold undrained never
 * pass the budget, and the watch cut off to make room is the one whose bytes waited longest.
 */
import t from 'tap';
import { MAX_WATCHES, MAX_WATCHES_PER_CLIENT, WATCH_UNDRAINED_BUDGET_BYTES, WatchLimits, type WatchLease } from '../../src/api/watch-limits.js';

function counting(): { readonly refused: string[]; readonly cutOff: string[]; refusedFn(r: string): void; cutOffFn(r: string): void } {
  const e = { refused: [] as string[], cutOff: [] as string[], refusedFn: (r: string) => void e.refused.push(r), cutOffFn: (r: string) => void e.cutOff.push(r) };
  return e;
}

function open(limits: WatchLimits, client: string, cuts: Map<WatchLease, string>): WatchLease {
  let lease: WatchLease | null = null;
  const a = limits.admit(client, `connection ${client}`, (reason) => cuts.set(lease!, reason));
  if (!a.ok) throw new Error(a.message);
  lease = a.lease;
  return lease;
}

void t.test('the documented defaults', async (t) => {
  t.equal(MAX_WATCHES_PER_CLIENT, 256);
  t.equal(MAX_WATCHES, 10_000);
  t.equal(WATCH_UNDRAINED_BUDGET_BYTES, 256 * 1024 * 1024);
});

void t.test('a client past its cap is refused, naming the cap and its open watches; others are not', async (t) => {
  const e = counting();
  const limits = new WatchLimits({ maxPerClient: 3, maxTotal: 100 }, () => 0, { refused: e.refusedFn, cutOff: e.cutOffFn });
  const cuts = new Map<WatchLease, string>();
  const mine = [open(limits, 'a', cuts), open(limits, 'a', cuts), open(limits, 'a', cuts)];
  const refused = limits.admit('a', 'client certificate "ops"', () => undefined);
  t.match(refused, { ok: false, reason: 'per_client', message: 'client certificate "ops" has 3 watches open on this controller, the most one client may (3)' });
  t.ok(limits.admit('b', 'connection b', () => undefined).ok, 'another client still opens one');
  mine[0]!.close();
  mine[0]!.close(); // idempotent: counts once
  t.equal(limits.openBy('a'), 2);
  t.ok(limits.admit('a', 'x', () => undefined).ok, 'a closed watch gives its place back');
  t.strictSame(e.refused, ['per_client']);
});

void t.test('the controller past its total is refused, naming the cap, the open watches and the client\'s share', async (t) => {
  const e = counting();
  const limits = new WatchLimits({ maxPerClient: 10, maxTotal: 4 }, () => 0, { refused: e.refusedFn, cutOff: e.cutOffFn });
  const cuts = new Map<WatchLease, string>();
  for (const c of ['a', 'b', 'c', 'c']) open(limits, c, cuts);
  const refused = limits.admit('c', 'connection c', () => undefined);
  t.match(refused, { ok: false, reason: 'total', message: 'this controller serves 4 watches, the most it serves at once (4); connection c has 2 of them' });
  t.equal(limits.open, 4);
  t.strictSame(e.refused, ['total']);
});

void t.test('unread watches cannot hold more than the budget: the longest undrained is cut off first', async (t) => {
  const e = counting();
  let now = 0;
  const MiB = 1024 * 1024;
  const limits = new WatchLimits({ budgetBytes: 10 * MiB }, () => now, { refused: e.refusedFn, cutOff: e.cutOffFn });
  const cuts = new Map<WatchLease, string>();
  // 30 watches that never read: each takes one 1 MiB write and never drains it.
  const unread: WatchLease[] = [];
  let most = 0;
  const writes: Promise<boolean>[] = [];
  for (let i = 0; i < 30; i++) {
    now += 1;
    const w = open(limits, `c${i}`, cuts);
    unread.push(w);
    writes.push(w.hold(MiB));
    most = Math.max(most, limits.undrained);
  }
  t.equal(cuts.size, 10, 'every watch that held its write cut off at once');
  t.equal(limits.waitingWrites, 20, 'the writes past the budget wait while the cut-off streams close');
  t.equal(limits.open, 30, 'a cut-off watch keeps its place until its stream closes');
  // As the handler does once a reset stream has closed; a granted write behind which others
  // still wait is cut in turn, the oldest first.
  const closed = new Set<WatchLease>();
  while (closed.size < cuts.size) {
    for (const w of cuts.keys()) {
      if (closed.has(w)) continue;
      closed.add(w);
      w.close();
      most = Math.max(most, limits.undrained);
    }
  }
  t.equal(cuts.size, 20, 'twenty cut off in all');
  t.ok(unread.slice(0, 20).every((w) => cuts.has(w)), 'the first twenty: the longest held');
  t.strictSame(await Promise.all(writes), [...Array<boolean>(30).fill(true)], 'every write went, the cut-off ones before their cut');
  t.ok(most <= 10 * MiB, `never past the budget (at most ${most} bytes)`);
  t.equal(limits.undrained, 10 * MiB);
  t.equal(limits.waitingWrites, 0);
  t.equal(limits.open, 10);
  t.match(cuts.get(unread[0]!), /^watches on this controller hold 10 MiB written to their streams and not yet read, the most it holds for all of them, and this watch's had waited longest \(1048576 bytes, unread for 10 ms\)$/);
  t.equal(e.cutOff.length, 20);
});

void t.test('a watch that reads is not chosen while one that does not holds anything', async (t) => {
  const limits = new WatchLimits({ budgetBytes: 1000 }, () => 0);
  const cuts = new Map<WatchLease, string>();
  const reader = open(limits, 'r', cuts);
  const staller = open(limits, 's', cuts);
  t.ok(await staller.hold(600));
  for (let i = 0; i < 50; i++) {
    const write = reader.hold(500);
    if (cuts.has(staller)) staller.close();
    t.ok(await write, 'the reader writes');
    reader.drained(500);
  }
  t.equal(cuts.size, 1, 'one cut off');
  t.ok(cuts.has(staller), 'the stalled watch');
  t.equal(limits.undrained, 0);
});

void t.test('a stalled watch holding a small message goes before a newer, larger one', async (t) => {
  let now = 0;
  const limits = new WatchLimits({ budgetBytes: 1000 }, () => now);
  const cuts = new Map<WatchLease, string>();
  const stalled = open(limits, 's', cuts);
  const busy = open(limits, 'b', cuts);
  t.ok(await stalled.hold(50));
  now = 500;
  t.ok(await busy.hold(900)); // a large value on its way to a client that reads
  const third = open(limits, 't', cuts);
  const write = third.hold(100);
  t.ok(cuts.has(stalled), 'the one unread longest');
  t.notOk(cuts.has(busy));
  stalled.close();
  t.ok(await write);
  t.equal(limits.undrained, 1000);
});

void t.test('a waiting write of a watch that closes meanwhile is refused, and frees the queue for the next', async (t) => {
  const limits = new WatchLimits({ budgetBytes: 1000 }, () => 0);
  const cuts = new Map<WatchLease, string>();
  const holder = open(limits, 'h', cuts);
  t.ok(await holder.hold(900));
  const a = open(limits, 'a', cuts);
  const b = open(limits, 'b', cuts);
  const first = a.hold(500);
  const second = b.hold(100);
  t.ok(cuts.has(holder));
  a.close();
  holder.close();
  t.equal(await first, false, 'closed while it waited');
  t.equal(await second, true);
  t.equal(limits.undrained, 100);
});

void t.test('drained and closed bytes are given back; a write alone larger than the budget still goes', async (t) => {
  const limits = new WatchLimits({ budgetBytes: 100 }, () => 0);
  const cuts = new Map<WatchLease, string>();
  const w = open(limits, 'a', cuts);
  t.ok(await w.hold(150), 'nothing else to cut: one message at most');
  t.equal(w.undrained, 150);
  w.drained(150);
  t.equal(limits.undrained, 0);
  t.ok(await w.hold(60));
  w.close();
  t.equal(limits.undrained, 0);
  t.equal(limits.open, 0);
  t.notOk(await w.hold(10), 'a closed lease holds nothing');
});
