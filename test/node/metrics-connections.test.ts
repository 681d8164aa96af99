/**
 * The metrics endpoint keeps at most MAX_METRICS_CONNECTIONS connections, and at most
 * MAX_METRICS_CONNECTIONS_PER_SOURCE from one source (MAX_METRICS_CONNECTIONS_LOOPBACK from
 * loopback, one source); at a cap an old one is closed, so a scraper's new connection is
 * answered however many a client holds. A connection with more than MAX_METRICS_PIPELINED
 * requests unanswered is closed.
 */
import net from 'node:net';
import http from 'node:http';
import t, { type Test } from 'tap';
import { MAX_METRICS_CONNECTIONS, MAX_METRICS_CONNECTIONS_PER_SOURCE, Metrics } from '../../src/node/metrics.js';
import { MAX_METRICS_CONNECTIONS_LOOPBACK, MAX_METRICS_PIPELINED } from '../../src/node/metrics-connections.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

async function serving(t: Test): Promise<{ port: number; metrics: Metrics }> {
  const [port] = await freePorts(1);
  const metrics = new Metrics('c1');
  await metrics.listen(`127.0.0.1:${port!}`);
  t.teardown(() => metrics.close());
  return { port: port!, metrics };
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

const scrape = (port: number, from = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) =>
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', localAddress: from, agent: false }, (res) => (res.resume(), resolve(res.statusCode === 200)))
      .on('error', () => resolve(false)),
  );

const capped = async (metrics: Metrics, reason: string): Promise<number> => {
  const m = /^controller_metrics_connections_capped_total\{reason="(\w+)",node="c1"\} (\d+)$/gm;
  const text = await metrics.registry.metrics();
  for (const [, r, n] of text.matchAll(m)) if (r === reason) return Number(n);
  return -1;
};

void t.test('at the per-source cap the oldest connection of the source is closed, not the new one', async (t) => {
  const { port, metrics } = await serving(t);
  const closed = new Set<net.Socket>();
  const hog = await idle(port, '127.0.0.2', MAX_METRICS_CONNECTIONS_LOOPBACK + 4, closed);
  t.teardown(() => hog.forEach((s) => s.destroy()));
  await waitFor(() => closed.size === 4, 'the four oldest closed', 10_000);
  t.ok(hog.slice(0, 4).every((s) => closed.has(s)), 'the first four');
  t.equal(await capped(metrics, 'max_per_source'), 4, 'counted');
});

void t.test('a client binding many loopback addresses cannot keep a scraper out', async (t) => {
  const { port } = await serving(t);
  const closed = new Set<net.Socket>();
  const all: net.Socket[] = [];
  t.teardown(() => all.forEach((s) => s.destroy()));
  // As the attack: all the slots, 8 from each of 8 loopback addresses.
  const sources = MAX_METRICS_CONNECTIONS / MAX_METRICS_CONNECTIONS_PER_SOURCE;
  for (let i = 0; i < sources; i++) all.push(...(await idle(port, `127.0.0.${10 + i}`, MAX_METRICS_CONNECTIONS_PER_SOURCE, closed)));
  t.ok(await scrape(port, '127.0.0.9'), "a scraper's new connection is answered");
  // Loopback is one source: of the 64 and the scraper's, the newest 32 stay.
  const kept = all.slice(all.length - MAX_METRICS_CONNECTIONS_LOOPBACK + 1);
  await waitFor(() => closed.size === all.length - kept.length, 'all the older ones closed', 10_000);
  t.ok(kept.every((s) => !closed.has(s)), 'the newest kept');
});

void t.test('requests one at a time are served on a kept-alive connection; pipelined past the cap, it is closed', async (t) => {
  const { port, metrics } = await serving(t);
  const request = 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n';
  const answers = (text: string): number => text.split('HTTP/1.1 200').length - 1;

  const keptAlive = net.connect({ port, host: '127.0.0.1' });
  t.teardown(() => keptAlive.destroy());
  let one = '';
  keptAlive.setEncoding('utf8').on('data', (c: string) => (one += c));
  for (let i = 1; i <= 3; i++) {
    keptAlive.write(request);
    await waitFor(() => answers(one) === i && one.endsWith('\n'), `answer ${i}`, 10_000);
  }
  t.notOk(keptAlive.destroyed, 'three scrapes one at a time, the connection kept');

  const piped = net.connect({ port, host: '127.0.0.1' });
  t.teardown(() => piped.destroy());
  let text = '';
  let closed = false;
  piped.setEncoding('utf8').on('data', (c: string) => (text += c));
  piped.on('error', () => undefined).on('close', () => (closed = true));
  piped.write(request.repeat(16));
  await waitFor(() => closed, 'the pipelining connection closed', 10_000);
  t.ok(answers(text) <= MAX_METRICS_PIPELINED, `${answers(text)} of 16 answered`);
  t.equal(await capped(metrics, 'max_pipelined'), 1, 'counted');
  t.equal(await capped(metrics, 'max_per_source'), 0);
  t.equal(await capped(metrics, 'max_connections'), 0);
});
