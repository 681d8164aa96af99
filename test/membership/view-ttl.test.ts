import t from 'tap';
import { defaultHeartbeatIntervalMs } from '../../src/config/defaults.js';
import { defaultViewTtlMs } from '../../src/membership/own-view.js';

void t.test('a view votes for three ping intervals at the default interval: 0.75 x base', async (t) => {
  for (const base of [200, 500, 1_000, 2_000]) {
    const interval = defaultHeartbeatIntervalMs(base);
    t.equal(defaultViewTtlMs(base, interval), 0.75 * base, `base ${base} ms, interval ${interval} ms`);
  }
});

void t.test('a view never votes for as long as the base timeout, whatever interval is configured', async (t) => {
  // The config allows intervals up to base/2. An isolated leader must see its reporters' views
  // expire before its own detector (base + 2 x RTT at least) times them out.
  const base = 2_000;
  for (const interval of [50, 100, 250, 500, 700, 1_000]) {
    const ttl = defaultViewTtlMs(base, interval);
    t.ok(ttl <= 0.75 * base, `interval ${interval} ms: ttl ${ttl} ms <= 1500 ms`);
    t.ok(ttl >= base / 2, `interval ${interval} ms: ttl ${ttl} ms bridges at least half the timeout`);
  }
  t.equal(defaultViewTtlMs(base, 250), 1_000, 'pings every base/8: half the timeout (four intervals)');
});
