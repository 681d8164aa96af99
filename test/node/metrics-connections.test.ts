/** The metrics endpoint keeps at most MAX_METRICS_CONNECTIONS connections; more are closed at once. */
import net from 'node:net';
import http from 'node:http';
import t from 'tap';
import { MAX_METRICS_CONNECTIONS, Metrics } from '../../src/node/metrics.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('idle connections beyond the limit are closed as they come, and a scrape works once they go', async (t) => {
  const [port] = await freePorts(1);
  const metrics = new Metrics('c1');
  await metrics.listen(`127.0.0.1:${port!}`);
  t.teardown(() => metrics.close());
  const idle: net.Socket[] = [];
  const closed = new Set<net.Socket>();
  t.teardown(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < MAX_METRICS_CONNECTIONS + 10; i++) {
    const s = net.connect(port!, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('close', () => closed.add(s));
    idle.push(s);
    await new Promise((resolve) => s.once('connect', resolve));
  }
  await waitFor(() => closed.size === 10, 'the ten over the limit closed', 10_000);
  t.ok(idle.slice(MAX_METRICS_CONNECTIONS).every((s) => closed.has(s)), 'the last ten, those over the limit');
  for (const s of idle) s.destroy();
  await waitFor(
    () =>
      new Promise<boolean>((resolve) =>
        http.get(`http://127.0.0.1:${port!}/metrics`, (res) => (res.resume(), resolve(res.statusCode === 200))).on('error', () => resolve(false)),
      ),
    'a scrape',
    10_000,
  );
  t.pass('scraped once the idle connections went');
});
