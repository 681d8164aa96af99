/**
 * What a leader stamps as a mesh command's `at` (src/util/stamp-clock.ts): the wall clock while it
 * keeps pace with the monotonic clock; the monotonic estimate when it was stepped ahead (round 6,
 * F8: ten years ahead for 40 s froze quarantines for ten years); a step back taken as it is.
 */
import t from 'tap';
import { StampClock } from '../../src/util/stamp-clock.js';

function clocks(): { wall: number; mono: number; clock: StampClock } {
  const c = { wall: 1_800_000_000_000, mono: 50_000, clock: null as unknown as StampClock };
  c.clock = new StampClock({ wall: () => c.wall, mono: () => c.mono, toleranceMs: 5_000 });
  return c;
}

void t.test('a wall clock that keeps pace is stamped as it is, NTP-sized differences included', async (t) => {
  const c = clocks();
  t.same(c.clock.stamp(), { at: 1_800_000_000_000, aheadMs: 0 }, 'the first stamp anchors');
  c.wall += 1_000;
  c.mono += 1_000;
  t.same(c.clock.stamp(), { at: 1_800_000_001_000, aheadMs: 0 });
  c.wall += 3_000; // slewed 3 s ahead of the monotonic clock over a second: within the tolerance
  c.mono += 1_000;
  t.same(c.clock.stamp(), { at: 1_800_000_004_000, aheadMs: 0 });
});

void t.test('a wall clock stepped far ahead is not stamped: the monotonic estimate is, for as long as the step lasts', async (t) => {
  const c = clocks();
  c.clock.stamp();
  const tenYears = 315_360_000_000;
  c.wall += 40_000 + tenYears; // 40 s later, `date -s` ten years ahead
  c.mono += 40_000;
  const s = c.clock.stamp();
  t.equal(s.at, 1_800_000_040_000, 'the anchor plus the 40 s the monotonic clock measured');
  t.equal(s.aheadMs, tenYears, 'and how far ahead the wall clock was');
  c.wall += 500;
  c.mono += 500;
  t.equal(c.clock.stamp().at, 1_800_000_040_500, 'many stamps later, still at the monotonic pace: no creep by the tolerance per stamp');
  c.wall -= tenYears; // the step is undone
  c.wall += 500;
  c.mono += 500;
  t.same(c.clock.stamp(), { at: 1_800_000_041_000, aheadMs: 0 }, 'the wall clock is used again once it is back in step');
});

void t.test('a clock stepped back is taken as it is, and becomes the anchor (a clock wrong from the start gets corrected)', async (t) => {
  const c = clocks();
  const ahead = 86_400_000;
  c.wall += ahead; // this process started with its clock a day ahead
  t.equal(c.clock.stamp().at, 1_800_000_000_000 + ahead);
  c.wall -= ahead; // NTP steps it back
  c.mono += 1_000;
  c.wall += 1_000;
  t.same(c.clock.stamp(), { at: 1_800_000_001_000, aheadMs: 0 }, 'stamped as it is: log time, a maximum, waits for it');
  c.mono += 1_000;
  c.wall += 1_000;
  t.same(c.clock.stamp(), { at: 1_800_000_002_000, aheadMs: 0 }, 'and the new anchor holds');
});
