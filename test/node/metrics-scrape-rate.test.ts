/**
 * /metrics renders at most METRICS_RENDERS_PER_SECOND a second, after a burst: scrapes past
 * that are answered with the latest render. Scrapes within the burst each see a new render.
 */
import http from 'node:http';
import t from 'tap';
import client from 'prom-client';
import { Metrics } from '../../src/node/metrics.js';
import { METRICS_RENDER_BURST, METRICS_RENDERS_PER_SECOND } from '../../src/node/scrape-renders.js';
import { freePorts } from '../helpers/free-ports.js';

void t.test('a burst of scrapes costs at most the render budget; the first of it are each fresh', async (t) => {
  const [port] = await freePorts(1);
  const metrics = new Metrics('c1');
  let renders = 0;
  let value = 0;
  new client.Gauge({
    name: 'test_render_marker',
    help: 'Counts renders; reads the value the test set.',
    registers: [metrics.registry],
    collect() {
      renders += 1;
      this.set(value);
    },
  });
  await metrics.listen(`127.0.0.1:${port!}`);
  t.teardown(() => metrics.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const scrape = (): Promise<string> =>
    new Promise((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject),
    );
  const marker = (body: string): number => Number(/^test_render_marker\{node="c1"\} (\d+)$/m.exec(body)?.[1]);

  const started = performance.now();
  for (let i = 1; i <= METRICS_RENDER_BURST; i++) {
    value = i;
    t.equal(marker(await scrape()), i, `scrape ${i} sees the value set just before it`);
  }
  const scrapes = 100;
  let last = '';
  for (let i = METRICS_RENDER_BURST + 1; i <= scrapes; i++) last = await scrape();
  const seconds = (performance.now() - started) / 1000;
  const budget = METRICS_RENDER_BURST + Math.ceil(seconds * METRICS_RENDERS_PER_SECOND);
  t.ok(renders <= budget, `${renders} renders for ${scrapes} scrapes in ${seconds.toFixed(2)} s (budget ${budget})`);
  const reused = Number(/^controller_metrics_scrapes_reused_total\{node="c1"\} (\d+)$/m.exec(await metrics.registry.metrics())?.[1]);
  t.ok(reused >= scrapes - budget, `${reused} answered with the latest render`);
  t.ok(last.includes('controller_build_info'), 'a reused body is a whole one');
});
