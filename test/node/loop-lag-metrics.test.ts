/**
 * nodejs_eventloop_lag_* (loop-lag-metrics.ts): a scrape shows the wake-ups since the previous
 * scrape, not those before it, and each registry (one per Metrics) reads its own window.
 */
import client from 'prom-client';
import t from 'tap';
import { registerLoopLag } from '../../src/node/loop-lag-metrics.js';
import { LoopLag } from '../../src/util/loop-lag.js';

function sample(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

void t.test("a scrape's lag statistics are of the wake-ups since the previous scrape", async (t) => {
  const lag = new LoopLag();
  const registry = new client.Registry();
  registerLoopLag(registry, lag.window());
  lag.record(7);
  let text = await registry.metrics();
  t.ok(Math.abs(sample(text, 'nodejs_eventloop_lag_max_seconds')! - 0.007) < 1e-4, `max after a 7 ms wake-up: ${sample(text, 'nodejs_eventloop_lag_max_seconds')}`);
  t.ok(Math.abs(sample(text, 'nodejs_eventloop_lag_p99_seconds')! - 0.007) < 1e-4, 'p99 likewise, in the same scrape');
  t.ok(Math.abs(sample(text, 'nodejs_eventloop_lag_seconds')! - 0.007) < 1e-6, 'the last wake-up');
  lag.record(3);
  text = await registry.metrics();
  t.ok(Math.abs(sample(text, 'nodejs_eventloop_lag_max_seconds')! - 0.003) < 1e-4, `then only the 3 ms one: ${sample(text, 'nodejs_eventloop_lag_max_seconds')}`);
  const other = new client.Registry();
  registerLoopLag(other, lag.window());
  lag.record(9);
  t.ok(Math.abs(sample(await other.metrics(), 'nodejs_eventloop_lag_max_seconds')! - 0.009) < 1e-4, "another registry's scrape reads its own window");
  t.ok(Math.abs(sample(await registry.metrics(), 'nodejs_eventloop_lag_max_seconds')! - 0.009) < 1e-4, 'and leaves this one its samples');
});
