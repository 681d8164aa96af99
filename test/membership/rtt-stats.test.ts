import t from 'tap';
import { RttStats } from '../../src/membership/rtt-stats.js';

void t.test('the moving average covers exactly the last `window` samples', async (t) => {
  const s = new RttStats({ window: 4 });
  t.equal(s.movingAverageMs(), 0, 'no samples: 0');
  for (const v of [10, 20, 30, 40]) s.record(v);
  t.equal(s.movingAverageMs(), 25);
  s.record(100); // evicts 10
  t.equal(s.movingAverageMs(), (20 + 30 + 40 + 100) / 4);
  for (let i = 0; i < 1000; i++) s.record(0.5);
  t.ok(Math.abs(s.movingAverageMs() - 0.5) < 1e-9, 'no drift after many laps');
  t.equal(s.samples, 4);
});

void t.test('percentiles report sub-millisecond values and forget the distant past', async (t) => {
  const s = new RttStats({ window: 8, recentSamples: 100 });
  t.equal(s.percentileMs(50), null, 'null before any sample');
  for (let i = 0; i < 99; i++) s.record(0.4);
  s.record(1.9);
  t.equal(s.percentileMs(50), 0.4, 'p50 of sub-millisecond samples');
  t.equal(s.percentileMs(99), 0.4, 'p99: the 99th of 100 samples');
  t.equal(s.percentileMs(100), 1.9, 'p100: the largest');
  // 99 samples of 5 ms leave only the 1.9 ms one of the first hundred.
  for (let i = 0; i < 99; i++) s.record(5);
  t.equal(s.percentileMs(1), 1.9, `the oldest remaining sample is the 1.9 ms one, p1 = ${s.percentileMs(1)}`);
  s.record(5);
  t.equal(s.percentileMs(1), 5, `old samples gone, p1 = ${s.percentileMs(1)}`);
});

void t.test('negative, NaN and infinite samples are refused', async (t) => {
  const s = new RttStats({ window: 2 });
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => s.record(bad), { name: 'MembershipError', code: 'INVALID_SAMPLE' });
  }
  t.throws(() => new RttStats({ window: 0 }), { code: 'INVALID_CONFIG' });
});
