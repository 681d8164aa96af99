/**
 * The gRPC port's caps and its refused-handshake log on a real controller over mutual TLS:
 * a certificate from another CA is counted and logged with its source; more silent
 * connections than the pending-handshake cap leave the cap full, the oldest closed, and ctl
 * still served; the streams per connection announced as configured, and the header block cap,
 * which refuses (and counts) a call past it from a client that never took the announcement;
 * SIGTERM then stops the controller cleanly with them all open.
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { CertMaker } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait-for.js';
import { MAX_HEADER_LIST_BYTES } from '../../src/transport/header-list-cap.js';
import { RawH2Client } from '../helpers/h2-raw-client.js';

async function metric(address: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const res = await fetch(`http://${address}/metrics`);
  const family = parsePrometheusTextFormat(await res.text()).find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample && 'value' in sample ? Number(sample.value) : Number.NaN;
}

void t.test('a TLS controller: refused handshakes logged and counted, silent connections capped, a clean stop', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-listener-caps-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  certs.makeCa('rogue-ca');
  certs.makeCert('cluster-ca', 'c1', { peer: 'c1' });
  const operator = certs.makeCert('cluster-ca', 'operator');
  const rogue = certs.makeCert('rogue-ca', 'rogue');
  const nodeFiles = { ca: path.join(dir, 'cluster-ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` };
  // A cap of 100: opening the default 1,024 + 100 on a loaded machine outlasted the 10 s
  // handshake timeout, which then closed the oldest before the cap could.
  const cap = 100;
  const streams = 48;
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info', metrics: true, tls: nodeFiles, clientTls: operator, maxPendingHandshakes: cap, maxStreamsPerConnection: streams });
  t.teardown(() => cluster.stop());
  cluster.start('c1');
  await cluster.waitForLeader(['c1']);
  const metrics = cluster.metricsAddresses.get('c1')!;
  const [host, portText] = cluster.addresses.get('c1')!.split(':') as [string, string];

  const wrongCa = await cluster.ctl(['status'], cluster.endpoints(), 20000, { CTL_TLS_CERT: rogue.cert, CTL_TLS_KEY: rogue.key });
  t.not(wrongCa.code, 0, 'a certificate from another CA is refused');
  await waitFor(async () => (await metric(metrics, 'controller_tls_handshake_failures_total', { reason: 'certificate' })) >= 1, 'the refused certificate counted');
  const logged = (): string[] => (cluster.logs.get('c1') ?? []).join('').split('\n').filter((l) => l.includes('refused a TLS handshake'));
  await waitFor(() => logged().length >= 1, 'the refused handshake logged');
  t.match(JSON.parse(logged()[0]!), { level: 40, source: /127\.0\.0\.1$/, reason: 'certificate' });
  t.equal(logged().length, 1, 'once a minute per source, however often ctl retried');

  // controller.max_streams_per_connection reaches the port's HTTP/2 settings (nghttp2 refuses a
  // stream past it before grpc-js makes a call of it).
  const session = http2.connect(`https://${host}:${portText}`, { ca: fs.readFileSync(nodeFiles.ca), cert: fs.readFileSync(operator.cert), key: fs.readFileSync(operator.key), servername: 'localhost' });
  session.on('error', () => undefined);
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
  session.destroy();
  t.equal(settings.maxConcurrentStreams, streams, 'the port announces the configured streams per connection');
  t.equal(settings.maxHeaderListSize, MAX_HEADER_LIST_BYTES, "and the header block cap, not Node's 64 KiB");
  // A client that never acknowledges the SETTINGS is not bound by them: the first interceptor
  // refuses its 16 KB block all the same.
  const raw = await RawH2Client.connect(host, Number(portText), { ca: fs.readFileSync(nodeFiles.ca), cert: fs.readFileSync(operator.cert), key: fs.readFileSync(operator.key), servername: 'localhost' });
  t.teardown(() => raw.close());
  const pad: Array<[string, string]> = Array.from({ length: 16 }, (_, i) => [`x-pad-${i}`, 'p'.repeat(1000)]);
  raw.call('/controller.api.Controller/Status', pad, Buffer.alloc(0));
  await waitFor(async () => (await metric(metrics, 'client_calls_refused_total', { code: 'HEADERS_TOO_LARGE' })) >= 1, 'the 16 KB call refused and counted');
  t.equal(await metric(metrics, 'client_calls_refused_total', { code: 'HEADERS_TOO_LARGE' }), 1, 'a call past the cap from a client that never acknowledged it is refused, and counted once');

  const sockets: net.Socket[] = [];
  let closed = 0;
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < cap + 100; i++) {
    const s = net.connect(Number(portText), host);
    s.on('error', () => undefined);
    s.on('close', () => closed++);
    sockets.push(s);
  }
  await waitFor(async () => (await metric(metrics, 'controller_connections_capped_total', { reason: 'max_pending_handshakes' })) >= 100, 'the oldest 100 closed by the cap', 30000);
  t.equal(await metric(metrics, 'controller_connections_pending_handshake'), cap, 'the cap is full');
  await waitFor(() => closed >= 100, 'the clients saw 100 closes');
  const put = await cluster.ctl(['kv', 'put', 'k', 'v'], cluster.endpoints(), 20000);
  t.equal(put.code, 0, `ctl is served with the cap full: ${put.stderr}`);

  t.equal(await cluster.kill('c1', 'SIGTERM'), 0, 'SIGTERM stops the controller cleanly with the silent connections open');
  await waitFor(() => closed === sockets.length, 'every connection closed');
});
