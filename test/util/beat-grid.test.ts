/**
 * BeatGrid: periodic timers on one grid of multiples of their periods, one loop timer for all,
 * so duties whose periods share multiples wake the event loop together (an idle member's CPU
 * is mostly its wake-ups). Driven by a fake loop timer: `wakeups` counts what the loop would do.
 */
import t from 'tap';
import { BeatGrid, type GridTimers } from '../../src/util/beat-grid.js';

/** One pending loop timer at most (the grid keeps one), fired by `runUntil`. */
class FakeLoop implements GridTimers<number> {
  time = 0;
  wakeups: number[] = [];
  private pending: { readonly id: number; readonly at: number; readonly fn: () => void } | null = null;
  private ids = 0;
  /** Added to each wake-up: a loop that wakes up late (a busy host). */
  lateMs = 0;
  /** Added to the next wake-up only, instead of lateMs (a timer that fires early, once). */
  nextLateMs: number | null = null;

  now(): number {
    return this.time;
  }
  set(fn: () => void, ms: number): number {
    if (this.pending !== null) throw new Error('the grid armed a second loop timer');
    this.pending = { id: ++this.ids, at: this.time + ms, fn };
    return this.ids;
  }
  clear(id: number): void {
    if (this.pending?.id === id) this.pending = null;
  }
  runUntil(end: number): void {
    while (this.pending !== null && this.pending.at + (this.nextLateMs ?? this.lateMs) <= end) {
      const p = this.pending;
      this.pending = null;
      this.time = p.at + (this.nextLateMs ?? this.lateMs);
      this.nextLateMs = null;
      this.wakeups.push(this.time);
      p.fn();
    }
    this.time = end;
  }
  get armed(): boolean {
    return this.pending !== null;
  }
}

void t.test('duties of 50, 100, 250 and 500 ms wake the loop once per 50 ms, not once per duty', async (t) => {
  const loop = new FakeLoop();
  loop.time = 13; // started anywhere on the grid
  const grid = new BeatGrid(loop);
  const duties = [50, 100, 100, 250, 500].map((ms) => ({ ms, at: [] as number[] }));
  for (const d of duties) grid.every(d.ms, () => d.at.push(loop.time));
  loop.runUntil(1100);
  const beats = (ms: number, first: number): number[] => Array.from({ length: Math.floor((1100 - first) / ms) + 1 }, (_, i) => first + ms * i);
  t.same(duties[0]!.at, beats(50, 100), '50 ms: each on a multiple of its period, the first at least a period after the start');
  t.same(duties[1]!.at, beats(100, 200));
  t.same(duties[2]!.at, beats(100, 200));
  t.same(duties[3]!.at, beats(250, 500));
  t.same(duties[4]!.at, beats(500, 1000));
  t.equal(loop.wakeups.length, 21, 'one wake-up per 50 ms beat: the others fall on it (as separate intervals, 21 + 2 x 10 + 3 + 1)');
});

void t.test('the first beat comes at least a period from now and at most two', async (t) => {
  for (const start of [0, 1, 49, 50, 99.5]) {
    const loop = new FakeLoop();
    loop.time = start;
    const grid = new BeatGrid(loop);
    const at: number[] = [];
    grid.every(50, () => at.push(loop.time));
    loop.runUntil(start + 100);
    t.ok(at[0]! - start >= 50 && at[0]! - start <= 100, `started at ${start}: first at ${at[0]}`);
    t.ok(at[0]! % 50 < 1, 'on the grid (within the loop timer\'s whole millisecond)');
  }
});

void t.test('a late wake-up skips the beats it missed, and the next ones stay on the grid', async (t) => {
  const loop = new FakeLoop();
  const grid = new BeatGrid(loop);
  const at: number[] = [];
  grid.every(50, () => at.push(loop.time));
  loop.lateMs = 170;
  loop.runUntil(300); // due at 50, fires at 220
  loop.lateMs = 0;
  loop.runUntil(400);
  t.same(at, [220, 250, 300, 350, 400], 'once for the missed 50..200, then on the grid again');
});

void t.test('a wake-up up to a millisecond early still fires the beat, without a second wake-up', async (t) => {
  const loop = new FakeLoop();
  const grid = new BeatGrid(loop);
  const at: number[] = [];
  grid.every(100, () => at.push(loop.time));
  loop.lateMs = -0.6; // the loop's whole milliseconds against a fractional clock
  loop.runUntil(350);
  t.equal(at.length, 3, `fired at ${at.join(', ')}`);
  at.forEach((x, i) => t.ok(Math.abs(x - 100 * (i + 1)) < 1, `${x} is the beat of ${100 * (i + 1)}`));
  t.equal(loop.wakeups.length, 3, 'no extra wake-up for a beat a fraction of a millisecond away');
});

void t.test('cancelling: the beat stops; the last one cancelled leaves no loop timer', async (t) => {
  const loop = new FakeLoop();
  const grid = new BeatGrid(loop);
  let a = 0;
  let b = 0;
  const ta = grid.every(50, () => a++);
  const tb = grid.every(100, () => {
    b++;
    ta.cancel(); // cancelled by a beat of the same wake-up, before or after its own turn
  });
  loop.runUntil(100);
  t.equal(b, 1);
  loop.runUntil(300);
  t.ok(a <= 2, `a stopped once b cancelled it (ran ${a} times)`);
  const aAt = a;
  loop.runUntil(400);
  t.equal(a, aAt, 'no beat after the cancel');
  tb.cancel();
  tb.cancel();
  t.notOk(loop.armed, 'nothing left: no wake-up armed');
});

void t.test('a beat that throws does not keep the others of its wake-up from running, and the error is thrown', async (t) => {
  const loop = new FakeLoop();
  const grid = new BeatGrid(loop);
  const ran: string[] = [];
  grid.every(50, () => {
    ran.push('first');
    throw new Error('duty failed');
  });
  grid.every(50, () => ran.push('second'));
  t.throws(() => loop.runUntil(50), /duty failed/);
  t.same(ran, ['first', 'second']);
  t.ok(loop.armed, 'the next beat is armed before the error leaves');
  t.throws(() => grid.every(0, () => undefined), RangeError);
});

void t.test('each wake-up reports how late it came after the earliest beat it fires', async (t) => {
  const loop = new FakeLoop();
  const late: number[] = [];
  const grid = new BeatGrid(loop, (ms) => late.push(ms));
  grid.every(50, () => undefined);
  grid.every(100, () => undefined);
  loop.runUntil(100);
  loop.lateMs = 30;
  loop.runUntil(300);
  t.same(late, [0, 0, 30, 30, 30], 'on time, then 30 ms late (a busy loop)');
});

void t.test('a beat added by another beat joins the grid; a wake-up several ms early fires nothing and re-arms', async (t) => {
  const loop = new FakeLoop();
  const late: number[] = [];
  const grid = new BeatGrid(loop, (ms) => late.push(ms));
  const added: number[] = [];
  let once = false;
  grid.every(100, () => {
    if (once) return;
    once = true;
    grid.every(30, () => added.push(loop.time)); // from inside a wake-up: at least 30 ms on, on its own grid
  });
  loop.runUntil(200);
  t.same(added, [150, 180], 'the first multiple of 30 at least 30 ms after 100, then every 30');
  const wakeups = loop.wakeups.length;
  loop.nextLateMs = -5; // a loop timer that fires well before its time
  loop.runUntil(215);
  t.equal(added.length, 3, `the beat of 210 ran once (${added.join(', ')})`);
  t.ok(loop.wakeups.length >= wakeups + 2, 'the early wake-up found nothing due and armed again');
  t.ok(late.every((ms) => ms >= 0), 'an early wake-up reports no lateness');
});
