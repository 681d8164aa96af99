/**
 * /metrics over HTTPS with `tls.metrics_client_ca`: the handshake asks the scraper for a
 * certificate and completes only with one that CA signed; without the CA anyone who reaches
 * the port reads the metrics, as before.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Metrics } from '../../src/node/metrics.js';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { scrapeHttps, type Scrape } from '../helpers/https-scrape.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-client-ca-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('scrapers');
certs.makeCa('elsewhere');
const node = certs.makeCert('ca', 'c1', { peer: 'c1' });
const scraper = certs.makeCert('scrapers', 'prometheus');
const stranger = certs.makeCert('elsewhere', 'stranger');
const operator = certs.makeCert('ca', 'operator');

const scrape = (port: number, client: { readonly cert: string; readonly key: string } | null): Promise<Scrape> => scrapeHttps(`127.0.0.1:${port}`, node.ca, client);

async function serving(clientCa: Buffer | null): Promise<{ readonly port: number; readonly metrics: Metrics }> {
  const [port] = await freePorts(1);
  const metrics = new Metrics('c1');
  await metrics.listen(`127.0.0.1:${port!}`, { cert: fs.readFileSync(node.cert), key: fs.readFileSync(node.key), clientCa });
  return { port: port!, metrics };
}

void t.test('with a client CA, only its certificates read /metrics', async (t) => {
  const { port, metrics } = await serving(fs.readFileSync(path.join(dir, 'scrapers.crt')));
  t.teardown(() => metrics.close());
  const ok = await scrape(port, scraper);
  t.ok('status' in ok && ok.status === 200, `the scraper's certificate: 200 (${JSON.stringify(ok).slice(0, 80)})`);
  t.match('body' in ok ? ok.body : '', /^# HELP /m, 'and the metrics in the body');
  for (const [what, client] of [
    ['no certificate', null],
    ['a certificate of another CA', stranger],
    ["an operator's certificate from the controllers' CA", operator],
  ] as const) {
    const refused = await scrape(port, client);
    t.ok('error' in refused, `${what}: the handshake fails (${JSON.stringify(refused).slice(0, 80)})`);
  }
});

void t.test('without a client CA, HTTPS asks for no certificate', async (t) => {
  const { port, metrics } = await serving(null);
  t.teardown(() => metrics.close());
  const anyone = await scrape(port, null);
  t.ok('status' in anyone && anyone.status === 200, `no certificate: 200 (${JSON.stringify(anyone).slice(0, 80)})`);
});
