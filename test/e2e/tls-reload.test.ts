/**
 * SIGHUP on a real controller process: a CRL published while it runs refuses the certificate it
 * revokes once the controller is sent SIGHUP (accepted until then) and closes the watch that
 * certificate held open, a rotated certificate is
 * what new connections are shown, and a bad file sent with the next SIGHUP leaves the material
 * in force, with TLS_RELOAD_FAILED in the log and controller_tls_reloads_total{result="failed"}
 * counted; the process runs on throughout. The signal goes to the PID the test started.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { checkNaming } from '../helpers/metric-names.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

/** The serial of the certificate a new TLS connection to `address` is shown. */
function servedSerial(address: string, ca: string, who: { cert: string; key: string }): Promise<string> {
  const idx = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address.slice(0, idx), port: Number(address.slice(idx + 1)), servername: 'localhost', ca: fs.readFileSync(ca), cert: fs.readFileSync(who.cert), key: fs.readFileSync(who.key), ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

const serialOf = (file: string): string => new X509Certificate(fs.readFileSync(file)).serialNumber;

void t.test('SIGHUP reloads the TLS files: a CRL published after start takes effect, a rotated certificate is served, a bad file changes nothing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-tls-reload-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  const first = certs.makeCert('cluster-ca', 'c1-first', { peer: 'c1' });
  const operator = certs.makeCert('cluster-ca', 'operator');
  const leaked = certs.makeCert('cluster-ca', 'leaked');
  // The paths the config names; the test replaces their contents as an operator would.
  const live = { cert: path.join(dir, 'c1.crt'), key: path.join(dir, 'c1.key'), crl: path.join(dir, 'live.crl') };
  fs.copyFileSync(first.cert, live.cert);
  fs.copyFileSync(first.key, live.key);
  fs.copyFileSync(certs.crl('cluster-ca'), live.crl);
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info', metrics: true, tls: { ca: operator.ca, cert: live.cert, key: live.key, crl: live.crl }, clientTls: operator });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.explainFailure(cluster.waitForLeader());
  const endpoints = cluster.endpoints();
  const pid = cluster.pid('c1');
  const log = (): string => (cluster.logs.get('c1') ?? []).join('');
  const lines = (code: string): Array<Record<string, unknown>> =>
    log()
      .split('\n')
      .filter((l) => l.includes(`"code":"${code}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const asLeaked = { CTL_TLS_CERT: leaked.cert, CTL_TLS_KEY: leaked.key };

  t.equal((await cluster.ctl(['kv', 'put', 'k', 'before'], endpoints, 20000, asLeaked)).code, 0, 'before: the certificate about to leak writes');
  t.equal(lines('CRL_EXPIRING').length, 1, 'a CRL with under 24 h left is warned about at start, once');

  // 1. Revoke it, publish the CRL: nothing changes until SIGHUP.
  certs.revoke('cluster-ca', 'leaked');
  fs.copyFileSync(certs.crl('cluster-ca'), live.crl);
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'on-disk-only'], endpoints, 20000, asLeaked)).code, 0, 'the new CRL on disk only: still accepted');
  // A watch the leaked key holds open across the reload: the reload closes its connection.
  const metricsText = async (): Promise<string> => (await fetch(`http://${cluster.metricsAddresses.get('c1')!}/metrics`)).text();
  const watching = cluster.ctl(['watch', 'k'], endpoints, 60_000, asLeaked);
  await waitFor(async () => /^controller_watches_open(\{[^}]*\})? 1$/m.test(await metricsText()), 'the leaked key\'s watch to be open');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => lines('TLS_RELOADED').length === 1, 'TLS_RELOADED in the log');
  t.match(lines('TLS_RELOADED')[0], { changed: ['tls.crl'], crls: { count: 1, previousCount: 1 }, cert: { serial: serialOf(first.cert) } });
  const cut = await watching;
  t.equal(cut.code, 3, `the watch opened before the reload is cut off (exit 3): ${cut.stderr.trim()}`);
  t.match(lines('TLS_REVOKED_CLOSED'), [{ level: 40, subject: /CN=leaked/, serial: serialOf(leaked.cert) }], 'logged with the revoked certificate');
  t.equal(lines('TLS_REVOKED_CLOSED').length, 1, 'the one connection it held, and no other');
  const stolen = await cluster.ctl(['kv', 'put', 'k', 'by-thief'], endpoints, 20000, asLeaked);
  t.equal(stolen.code, 3, `after SIGHUP: refused at the handshake (exit 3): ${stolen.stderr.trim()}`);
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'by-operator'], endpoints)).code, 0, 'the operator still writes');

  // 2. Rotate the controller's certificate.
  const next = certs.makeCert('cluster-ca', 'c1-next', { peer: 'c1' });
  fs.copyFileSync(next.cert, live.cert);
  fs.copyFileSync(next.key, live.key);
  t.equal(await servedSerial(cluster.endpoints(), operator.ca, operator), serialOf(first.cert), 'on disk only: the first certificate is served');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => lines('TLS_RELOADED').length === 2, 'the second TLS_RELOADED');
  t.match(lines('TLS_RELOADED')[1], { changed: ['tls.cert', 'tls.key'], cert: { serial: serialOf(next.cert), previousSerial: serialOf(first.cert) } });
  t.equal(await servedSerial(cluster.endpoints(), operator.ca, operator), serialOf(next.cert), 'after SIGHUP: the rotated one');

  // 3. A CRL that does not parse: refused, everything in force stays.
  fs.writeFileSync(live.crl, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => lines('TLS_RELOAD_FAILED').length === 1, 'TLS_RELOAD_FAILED in the log');
  t.match(lines('TLS_RELOAD_FAILED')[0], { level: 50, key: 'tls.crl', file: live.crl, cause: /not a usable certificate revocation list/ });
  t.equal(cluster.pid('c1'), pid, 'the same process runs on');
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'still-operator'], endpoints)).code, 0, 'the operator still writes');
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'by-thief'], endpoints, 20000, asLeaked)).code, 3, 'the CRL in force still refuses the revoked certificate');
  t.equal(await servedSerial(cluster.endpoints(), operator.ca, operator), serialOf(next.cert), 'and the rotated certificate is still served');

  const text = await (await fetch(`http://${cluster.metricsAddresses.get('c1')!}/metrics`)).text();
  t.strictSame(checkNaming(text).problems, [], 'the TLS families follow the naming rules too');
  /** The value of `family`'s sample whose labels include `label` (any, without). */
  const sample = (family: string, label = ''): number => {
    const line = text.split('\n').find((l) => (l.startsWith(`${family}{`) || l.startsWith(`${family} `)) && l.includes(label));
    return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  t.equal(sample('controller_tls_reloads_total', 'result="ok"'), 2, 'two reloads counted ok');
  t.equal(sample('controller_tls_reloads_total', 'result="failed"'), 1, 'one counted failed');
  t.equal(sample('controller_tls_revoked_connections_closed_total'), 1, 'one connection closed for a revoked certificate');
  const crlLeft = sample('controller_tls_crl_next_update_seconds');
  t.ok(crlLeft > 20 * 3600 && crlLeft <= 24 * 3600, `seconds until the CRL's nextUpdate: ${crlLeft}`);
  const certLeft = sample('controller_tls_cert_not_after_seconds');
  t.ok(certLeft > 20 * 3600 && certLeft <= 24 * 3600, `seconds until the rotated certificate's notAfter: ${certLeft}`);
  t.equal(lines('CERT_EXPIRING').length, 2, 'each certificate with under 24 h left warned about once: the first at start, the rotated one at its reload');
});
