import t from 'tap';
import { SampleRing } from '../../src/util/sample-ring.js';
import { seededRng } from '../../src/util/rng.js';

void t.test('the mean covers exactly the samples held, without drift over many laps', async (t) => {
  const r = new SampleRing(3);
  t.equal(r.mean(), 0, 'no samples: 0');
  t.equal(r.percentile(50), null, 'no samples: no percentile');
  for (const v of [3, 6]) r.record(v);
  t.equal(r.count, 2);
  t.equal(r.mean(), 4.5);
  for (const v of [9, 12]) r.record(v); // 3 is evicted
  t.equal(r.count, 3);
  t.equal(r.mean(), 9);
  for (let i = 0; i < 100_000; i++) r.record(0.1 * ((i % 7) + 1));
  const held = [99_997, 99_998, 99_999].map((i) => 0.1 * ((i % 7) + 1));
  t.ok(Math.abs(r.mean() - held.reduce((a, b) => a + b, 0) / 3) < 1e-12, `mean ${r.mean()} is the held samples' mean`);
});

void t.test('percentiles are nearest-rank over the samples held, in numeric order', async (t) => {
  const r = new SampleRing(10);
  for (const v of [10, 2, 33, 4, 5, 100, 7, 8, 9, 1]) r.record(v);
  t.equal(r.percentile(0), 1, 'p0: the smallest');
  t.equal(r.percentile(10), 1, 'p10: the 1st of 10');
  t.equal(r.percentile(50), 7, 'p50: the 5th of 10');
  t.equal(r.percentile(90), 33, 'p90: the 9th of 10');
  t.equal(r.percentile(100), 100, 'p100: the largest');
  t.equal(r.percentile(250), 100, 'out-of-range percentiles are clamped');
});

void t.test('percentiles asked again between samples agree, and follow every new sample', async (t) => {
  const r = new SampleRing(4);
  for (const v of [5, 1, 9]) r.record(v);
  t.equal(r.percentile(50), 5, 'p50 of 1, 5, 9');
  t.equal(r.percentile(100), 9, 'p100 from the same sort');
  r.record(0);
  t.equal(r.percentile(50), 1, 'p50 of 0, 1, 5, 9 after a new sample');
  r.record(20); // 5 is evicted
  t.equal(r.percentile(100), 20, 'p100 after another, with one evicted');
  t.equal(r.percentile(50), 1, 'p50 of 0, 1, 9, 20');
});

void t.test('percentiles kept in order as samples come and go agree with a fresh sort (seed 17)', async (t) => {
  const rng = seededRng(17);
  for (const capacity of [1, 5, 64, 1024]) {
    const r = new SampleRing(capacity);
    const held: number[] = [];
    let mismatches = 0;
    for (let i = 0; i < 5_000; i++) {
      // Repeats on purpose: equal values must leave and enter the order one at a time.
      const v = rng.int(0, 50) / 4;
      r.record(v);
      held.push(v);
      if (held.length > capacity) held.shift();
      // Asked now and then, as a status answer would: the order is made once, then kept.
      if (i % 7 !== 0) continue;
      const fresh = [...held].sort((a, b) => a - b);
      for (const p of [0, 1, 50, 90, 99, 100]) {
        const rank = Math.ceil((p / 100) * held.length);
        if (r.percentile(p) !== fresh[Math.max(0, rank - 1)]) mismatches++;
      }
    }
    t.equal(mismatches, 0, `capacity ${capacity}: every percentile as a fresh sort has it`);
  }
});
