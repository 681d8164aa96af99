/**
 * The metrics endpoint keeps at most MAX_METRICS_CONNECTIONS connections, and at most
 * MAX_METRICS_CONNECTIONS_PER_SOURCE from one address; more are closed as they come.
 */
import net from 'node:net';
import http from 'node:http';
import t, { type Test } from 'tap';
import { MAX_METRICS_CONNECTIONS, MAX_METRICS_CONNECTIONS_PER_SOURCE, Metrics } from '../../src/node/metrics.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

async function serving(t: Test): Promise<number> {
  const [port] = await freePorts(1);
  const metrics = new Metrics('c1');
  await metrics.listen(`127.0.0.1:${port!}`);
  t.teardown(() => metrics.close());
  return port!;
}

/** Opens `n` idle connections from `from` (a loopback address); records which the server closes. */
async function idle(port: number, from: string, n: number, closed: Set<net.Socket>): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
    s.on('error', () => undefined);
    s.on('close', () => closed.add(s));
    out.push(s);
    await new Promise((resolve) => s.once('connect', resolve));
  }
  return out;
}

const scrape = (port: number): Promise<boolean> =>
  new Promise((resolve) => http.get(`http://127.0.0.1:${port}/metrics`, (res) => (res.resume(), resolve(res.statusCode === 200))).on('error', () => resolve(false)));

void t.test('one source holds at most a few connections: a scraper from elsewhere still gets in', async (t) => {
  const port = await serving(t);
  const closed = new Set<net.Socket>();
  const hog = await idle(port, '127.0.0.2', MAX_METRICS_CONNECTIONS_PER_SOURCE + 4, closed);
  t.teardown(() => hog.forEach((s) => s.destroy()));
  await waitFor(() => closed.size === 4, 'the four over the per-source limit closed', 10_000);
  t.ok(hog.slice(MAX_METRICS_CONNECTIONS_PER_SOURCE).every((s) => closed.has(s)), 'the last four');
  t.ok(await scrape(port), 'a scrape from another address');
});

void t.test('all sources together hold at most MAX_METRICS_CONNECTIONS', async (t) => {
  const port = await serving(t);
  const closed = new Set<net.Socket>();
  const sources = MAX_METRICS_CONNECTIONS / MAX_METRICS_CONNECTIONS_PER_SOURCE + 1;
  const all: net.Socket[] = [];
  t.teardown(() => all.forEach((s) => s.destroy()));
  for (let i = 0; i < sources; i++) all.push(...(await idle(port, `127.0.0.${10 + i}`, MAX_METRICS_CONNECTIONS_PER_SOURCE, closed)));
  await waitFor(() => closed.size === MAX_METRICS_CONNECTIONS_PER_SOURCE, 'the last source\'s connections closed', 10_000);
  t.ok(all.slice(MAX_METRICS_CONNECTIONS).every((s) => closed.has(s)), 'those over the total');
  for (const s of all) s.destroy();
  await waitFor(() => scrape(port), 'a scrape once they went', 10_000);
  t.pass('scraped once the idle connections went');
});
