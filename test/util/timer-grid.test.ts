import t from 'tap';
import type { Timer } from '../../src/util/clock.js';
import { TimerGrid, type GridPort } from '../../src/util/timer-grid.js';

/** Simulated time: wake-ups run in order of their instants as the test advances the clock. */
class FakeTime implements GridPort {
  time = 0;
  wakeUps = 0;
  readonly failures: unknown[] = [];
  private pending: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.time;
  }
  wakeAfter(ms: number, fn: () => void): Timer {
    const w = { at: this.time + ms, fn, live: true };
    this.pending.push(w);
    return { cancel: () => void (w.live = false) };
  }
  fail(err: unknown): void {
    this.failures.push(err);
  }
  /** Runs every wake-up due up to `until`, each `lateMs` after its instant (a busy loop). */
  advance(until: number, lateMs = 0): void {
    for (;;) {
      this.pending = this.pending.filter((w) => w.live);
      const next = this.pending.reduce<(typeof this.pending)[number] | null>((a, w) => (a === null || w.at < a.at ? w : a), null);
      if (next === null || next.at + lateMs > until) break;
      this.time = next.at + lateMs;
      next.live = false;
      this.wakeUps++;
      next.fn();
    }
    this.time = until;
  }
  armed(): number {
    return this.pending.filter((w) => w.live).length;
  }
}

void t.test('periods that divide each other fall due at their multiples, in one wake-up per instant', (t) => {
  const time = new FakeTime();
  time.time = 13; // started between grid points
  const grid = new TimerGrid(time);
  const fired: Record<number, number[]> = { 50: [], 100: [], 250: [] };
  for (const ms of [50, 100, 250]) grid.every(ms, () => fired[ms]!.push(time.now()));
  time.advance(1000);
  t.same(fired[50], [50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900, 950, 1000]);
  t.same(fired[100], [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  t.same(fired[250], [250, 500, 750, 1000]);
  t.equal(time.wakeUps, 20, 'one wake-up per 50 ms instant, not one per timer (34 with separate timers)');
  t.equal(time.armed(), 1, 'a single wake-up is armed at any time');
  t.end();
});

void t.test('a late wake-up runs what is due once and skips the instants it missed, as setInterval does', (t) => {
  const time = new FakeTime();
  const grid = new TimerGrid(time);
  const fired: number[] = [];
  grid.every(50, () => fired.push(time.now()));
  time.advance(50, 0);
  time.advance(400, 120); // the loop is busy: every wake-up comes 120 ms late
  // Due at 100, run at 220; next due 250 (not 150 and 200), run at 370; next due 400, run at 520.
  t.same(fired, [50, 220, 370], 'one run per wake-up, no burst of catch-up runs');
  t.end();
});

void t.test('work due within SAME_TURN_MS of a turn joins it', (t) => {
  const time = new FakeTime();
  const grid = new TimerGrid(time);
  const fired: string[] = [];
  grid.every(50, () => fired.push(`a@${time.now()}`));
  time.advance(49);
  grid.every(10, () => fired.push(`b@${time.now()}`)); // due at 50, the same instant
  time.advance(50);
  t.same(fired, ['a@50', 'b@50']);
  t.equal(time.wakeUps, 1);
  t.end();
});

void t.test('cancelled work stops, also from within the same turn; cancelling twice is harmless', (t) => {
  const time = new FakeTime();
  const grid = new TimerGrid(time);
  let a = 0;
  let b = 0;
  const ta = grid.every(20, () => a++);
  // b was added after a, so it runs after a in the turn; c runs after b and is cancelled by it.
  let c = 0;
  let tc: Timer | null = null;
  const tb = grid.every(20, () => {
    b++;
    if (b === 2) {
      ta.cancel();
      tc?.cancel();
    }
  });
  tc = grid.every(20, () => c++);
  time.advance(100);
  t.equal(a, 2, 'a ran in the turns before b cancelled it');
  t.equal(c, 1, 'c, cancelled earlier in its turn, did not run in it');
  t.equal(b, 5);
  tb.cancel();
  tb.cancel();
  t.equal(time.armed(), 0, 'no wake-up is left armed once all work is cancelled');
  time.advance(1000);
  t.equal(b, 5, 'b stopped');
  t.end();
});

void t.test('a throwing callback does not starve the others of its turn, and its failure is reported', (t) => {
  const time = new FakeTime();
  const grid = new TimerGrid(time);
  let other = 0;
  grid.every(30, () => {
    throw new Error('boom');
  });
  grid.every(30, () => other++);
  time.advance(90);
  t.equal(other, 3);
  t.equal(time.failures.length, 3);
  t.match(String(time.failures[0]), /boom/);
  t.end();
});

void t.test('a period is rounded to whole milliseconds, at least 1', (t) => {
  const time = new FakeTime();
  const grid = new TimerGrid(time);
  const fired: number[] = [];
  grid.every(0.2, () => fired.push(time.now()));
  time.advance(3);
  t.same(fired, [1, 2, 3]);
  t.end();
});
