/**
 * LoopLag: the event loop's lateness, recorded from the timer grid's wake-ups, read by each
 * /metrics registry as the statistics since its last scrape.
 */
import t from 'tap';
import { LoopLag } from '../../src/util/loop-lag.js';

void t.test('a window reads the samples since its last take, then starts over', async (t) => {
  const lag = new LoopLag();
  const w = lag.window();
  t.equal(w.take(), null, 'nothing recorded yet');
  for (const ms of [1, 2, 3, 4, 100]) lag.record(ms);
  const s = w.take()!;
  t.ok(Math.abs(s.min - 0.001) < 1e-5 && Math.abs(s.max - 0.1) < 1e-3, `min ${s.min} s, max ${s.max} s`);
  t.ok(Math.abs(s.mean - 0.022) < 1e-4, `mean ${s.mean} s`);
  t.ok(s.p50 >= 0.0029 && s.p50 <= 0.0031, `p50 ${s.p50} s`);
  t.ok(s.p99 >= 0.099, `p99 ${s.p99} s: the one slow wake-up`);
  t.equal(w.take(), null, 'reset by the take');
  t.ok(Math.abs(w.lastSeconds - 0.1) < 1e-6, 'the last wake-up stays readable');
});

void t.test('windows read apart: one scrape does not reset another registry, and a closed one stops', async (t) => {
  const lag = new LoopLag();
  const a = lag.window();
  const b = lag.window();
  lag.record(5);
  t.ok(a.take() !== null);
  t.ok(b.take() !== null, "a's take left b's samples");
  b.close();
  lag.record(0); // on time: recorded as the least the histogram holds
  t.ok(a.take()!.max < 1e-8, 'a sample on time reads as (about) zero');
  t.equal(b.take(), null, 'a closed window records nothing');
});
