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
  const s = new RttStats({ window: 8, phaseSamples: 100 });
  t.equal(s.percentileMs(50), null, 'null before any sample');
  for (let i = 0; i < 99; i++) s.record(0.4);
  s.record(1.9);
  t.ok(Math.abs((s.percentileMs(50) ?? 0) - 0.4) < 0.01, `p50 ~0.4, got ${s.percentileMs(50)}`);
  t.ok(Math.abs((s.percentileMs(100) ?? 0) - 1.9) < 0.05, `max ~1.9, got ${s.percentileMs(100)}`);
  // Two more phases of 5 ms samples push the 0.4 ms phase out.
  for (let i = 0; i < 201; i++) s.record(5);
  t.ok(Math.abs((s.percentileMs(1) ?? 0) - 5) < 0.05, `old samples gone, p1 = ${s.percentileMs(1)}`);
});

void t.test('negative, NaN and infinite samples are refused', async (t) => {
  const s = new RttStats({ window: 2 });
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => s.record(bad), { name: 'MembershipError', code: 'INVALID_SAMPLE' });
  }
  t.throws(() => new RttStats({ window: 0 }), { code: 'INVALID_CONFIG' });
});
