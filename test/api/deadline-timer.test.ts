/**
 * Many deadlines on one timer (src/api/deadline-timer.ts), on a scripted clock: one timer armed
 * at a time, for the earliest deadline pending; each expires once its time has passed, earliest
 * first, unless cancelled; cancelled ones do not pile up in the heap.
 */
import t from 'tap';
import { DeadlineTimer } from '../../src/api/deadline-timer.js';
import { ScriptedTimers } from '../helpers/scripted-timers.js';
import { seededRng } from '../../src/util/rng.js';

const SEED = 59;

void t.test(`deadlines added in any order expire in deadline order, each once its time has passed, on one timer (seed ${SEED})`, async (t) => {
  const timers = new ScriptedTimers();
  const deadlines = new DeadlineTimer(timers);
  const rng = seededRng(SEED);
  const expired: { at: number; seen: number }[] = [];
  const ats = Array.from({ length: 1_000 }, () => 100 + rng.int(0, 5_000));
  const handles = ats.map((at) => deadlines.add(at, () => expired.push({ at, seen: timers.clock })));
  // A third cancelled before their time: never expire.
  const cancelled = new Set<number>();
  for (let i = 0; i < ats.length; i += 3) {
    handles[i]!.cancel();
    cancelled.add(i);
  }
  t.equal(deadlines.size, ats.length - cancelled.size);
  t.equal(timers.armed, 1, 'one timer armed');
  timers.advanceTo(10_000);
  const kept = ats.filter((_, i) => !cancelled.has(i)).sort((a, b) => a - b);
  t.strictSame(expired.map((e) => e.at), kept, 'every deadline not cancelled expired, earliest first');
  t.ok(expired.every((e) => e.seen >= e.at), 'none before its time');
  t.ok(expired.every((e) => e.seen === e.at), 'each when its time came (the timer armed for it)');
  t.equal(timers.most, 1, 'never more than one timer armed');
  t.equal(timers.armed, 0, 'none armed with nothing pending');
  t.equal(deadlines.size, 0);
  for (const h of handles) h.cancel();
  t.pass('cancelling after expiry is harmless');
});

void t.test('an earlier deadline added later re-arms the timer; cancelling the earliest leaves the later to fire', async (t) => {
  const timers = new ScriptedTimers();
  const deadlines = new DeadlineTimer(timers);
  const expired: string[] = [];
  deadlines.add(1_000, () => expired.push('late'));
  const early = deadlines.add(500, () => expired.push('early'));
  deadlines.add(200, () => expired.push('first'));
  t.equal(timers.armed, 1);
  timers.advanceTo(300);
  t.strictSame(expired, ['first']);
  early.cancel();
  timers.advanceTo(999);
  t.strictSame(expired, ['first'], 'the cancelled one never expires, the late one not before its time');
  timers.advanceTo(1_000);
  t.strictSame(expired, ['first', 'late']);
  deadlines.add(2_000, () => expired.push('cleared'));
  deadlines.clear();
  timers.advanceTo(5_000);
  t.strictSame(expired, ['first', 'late'], 'clear drops what is pending');
  t.equal(timers.armed, 0, 'and stops the timer');
});

void t.test('deadlines cancelled long before their time do not pile up: the heap holds what is pending and a bounded slack', async (t) => {
  const timers = new ScriptedTimers();
  const deadlines = new DeadlineTimer(timers);
  const standing = Array.from({ length: 10 }, (_, i) => deadlines.add(300_000 + i, () => undefined));
  let worst = 0;
  // 100,000 Gets that each wait a moment, with deadlines 5 minutes away.
  for (let i = 0; i < 100_000; i++) {
    deadlines.add(300_000, () => undefined).cancel();
    worst = Math.max(worst, deadlines.held);
  }
  t.ok(worst <= 2 * standing.length + 64 + 1, `the heap held ${worst} entries at most for ${deadlines.size} pending`);
  t.equal(deadlines.size, 10);
});
