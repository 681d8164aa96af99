/**
 * A TLS reload on real sockets: the controller's listener (guarded-listener.ts) and its client
 * credentials, with the material in force (src/node/tls-in-force.ts) replaced by the reloader
 * SIGHUP calls (src/node/tls-reloader.ts). A client certificate revoked by a CRL published
 * after start is accepted before the reload and refused after it, and the connections it opened
 * before are closed; a rotated server certificate is what new connections are shown; a file that
 * fails the start-up checks leaves the old material in force, logged with its key, file and
 * cause; new outgoing connections present the new certificate, and refuse a peer whose server
 * certificate the CRL revokes.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { GuardedListener } from '../../src/transport/guarded-listener.js';
import type { HandshakeFailure } from '../../src/transport/handshake-failures.js';
import { readTlsSnapshot, type ControllerTlsFiles } from '../../src/transport/tls-snapshot.js';
import { TlsInForce } from '../../src/node/tls-in-force.js';
import { TlsReloader } from '../../src/node/tls-reloader.js';
import { Metrics } from '../../src/node/metrics.js';
import type { TlsReloadResult } from '../../src/node/tls-metrics.js';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { scrapeHttps } from '../helpers/https-scrape.js';
import { captureLogs } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/wait-for.js';

const ECHO = '/test.Echo/Who';
const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };

/** A server answering with the serial of the caller's certificate, or 'none'. */
function echoServer(): grpc.Server {
  const server = new grpc.Server();
  server.addService(
    { Who: { path: ECHO, requestStream: false, responseStream: false, ...bytes } },
    {
      Who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const serial: unknown = call.getAuthContext()?.sslPeerCertificate?.serialNumber;
        cb(null, Buffer.from(typeof serial === 'string' ? serial : 'none'));
      },
    },
  );
  return server;
}

/**
 * A CA, member c1's certificate and a CRL of the CA with nothing revoked, copied to the paths the
 * controller's config names (`live/`), as an operator's files would be; the node built on them.
 * With `scrapers`, /metrics is served over HTTPS to the certificates of a CA of scrapers, whose
 * CRL the file holds too.
 */
async function fixture(t: Test, opts: { readonly scrapers?: boolean } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-reload-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('ca');
  const first = certs.makeCert('ca', 'c1', { peer: 'c1' });
  const live = path.join(dir, 'live');
  fs.mkdirSync(live);
  const scrapers = opts.scrapers === true;
  if (scrapers) certs.makeCa('scrapers');
  const files: ControllerTlsFiles = {
    ca: path.join(live, 'ca.crt'),
    cert: path.join(live, 'c1.crt'),
    key: path.join(live, 'c1.key'),
    clientCa: null,
    agentCa: null,
    metrics: scrapers,
    metricsClientCa: scrapers ? path.join(dir, 'scrapers.crt') : null,
    crl: path.join(live, 'crl.pem'),
  };
  fs.copyFileSync(first.ca, files.ca);
  fs.copyFileSync(first.cert, files.cert);
  fs.copyFileSync(first.key, files.key);
  /** Writes the CAs' current CRLs (every revocation so far) to the CRL file the config names. */
  const publishCrl = (): void => fs.writeFileSync(files.crl!, Buffer.concat([fs.readFileSync(certs.crl('ca')), ...(scrapers ? [fs.readFileSync(certs.crl('scrapers'))] : [])]));
  publishCrl();
  const start = readTlsSnapshot(files, 'c1');
  if (!start.ok) throw new Error(start.problem.reason);
  const inForce = new TlsInForce(start.snapshot, () => undefined);
  const server = echoServer();
  const failed: HandshakeFailure[] = [];
  const listener = await GuardedListener.listen(`127.0.0.1:${(await freePorts(1))[0]!}`, {
    server,
    tls: inForce.credentials.listenerTls ?? null,
    events: { handshakeFailed: (f) => failed.push(f) },
  });
  inForce.bindListener(listener);
  t.teardown(async () => {
    server.forceShutdown();
    listener.destroyAll();
    await listener.close();
  });
  const logs = captureLogs();
  const results: TlsReloadResult[] = [];
  const revokedClosed: number[] = [];
  const reloader = new TlsReloader({ files, selfId: 'c1', inForce, logger: logs.logger, onResult: (r) => results.push(r), onRevokedClosed: (closed) => revokedClosed.push(closed.length) });
  return { dir, certs, files, inForce, listener, port: listener.port, failed, logs, results, revokedClosed, reloader, publishCrl };
}

/** A gRPC client of its own channel (no subchannel shared with another client) presenting `who`. */
function clientOf(t: Test, port: number, ca: string, who: { cert: string; key: string }): grpc.Client {
  const c = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(fs.readFileSync(ca), fs.readFileSync(who.key), fs.readFileSync(who.cert)), { 'grpc.use_local_subchannel_pool': 1 });
  t.teardown(() => c.close());
  return c;
}

function ask(c: grpc.Client): Promise<{ err: grpc.ServiceError | null; reply: string | null }> {
  return new Promise((resolve) =>
    c.makeUnaryRequest(ECHO, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('?'), { deadline: Date.now() + 5000 }, (err, reply) =>
      resolve({ err: err ?? null, reply: reply?.toString() ?? null }),
    ),
  );
}

/** The serial of the certificate a new TLS connection to `port` is shown. */
function servedSerial(t: Test, port: number, ca: string, who: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fs.readFileSync(ca), cert: fs.readFileSync(who.cert), key: fs.readFileSync(who.key), ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
    t.teardown(() => socket.destroy());
  });
}

/**
 * One scrape over a TLS connection kept open afterwards (HTTP keep-alive), presenting `who`;
 * `closed` turns true when the server ends it.
 */
async function keptAliveScrape(t: Test, address: string, ca: string, who: { cert: string; key: string }): Promise<{ readonly closed: boolean }> {
  const idx = address.lastIndexOf(':');
  const state = { closed: false };
  const socket = tls.connect({ host: '127.0.0.1', port: Number(address.slice(idx + 1)), servername: 'localhost', ca: fs.readFileSync(ca), cert: fs.readFileSync(who.cert), key: fs.readFileSync(who.key) });
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  socket.on('close', () => (state.closed = true));
  let reply = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (reply += d));
  socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
  await waitFor(() => reply.includes('controller_') || state.closed, 'a keep-alive scrape to be answered');
  t.match(reply, /^HTTP\/1\.1 200/, 'the kept-alive scrape is served');
  return state;
}

/**
 * The echo call made by hand over `raw`, an already connected TCP socket: TLS presenting `who`,
 * then HTTP/2 and one gRPC message, as a client holding a connection accepted earlier would.
 * The reply, or why there was none; at most 10 s.
 */
function callOver(raw: net.Socket, ca: string, who: { cert: string; key: string }): Promise<{ reply: string } | { failed: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: { reply: string } | { failed: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      session.destroy();
      resolve(r);
    };
    const deadline = setTimeout(() => done({ failed: 'no answer in 10 s' }), 10_000);
    const session = http2.connect('https://localhost', {
      createConnection: () => tls.connect({ socket: raw, servername: 'localhost', ca: fs.readFileSync(ca), cert: fs.readFileSync(who.cert), key: fs.readFileSync(who.key), ALPNProtocols: ['h2'] }),
    });
    session.on('error', (e) => done({ failed: e.message }));
    session.on('close', () => done({ failed: 'the connection closed' }));
    const stream = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', (e) => done({ failed: e.message }));
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('trailers', (trailers) => {
      const body = Buffer.concat(chunks);
      done(trailers['grpc-status'] === '0' && body.length >= 5 ? { reply: body.subarray(5).toString() } : { failed: `grpc-status ${String(trailers['grpc-status'])}` });
    });
    const message = Buffer.from('?');
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([frame, message]));
  });
}

/** A TCP connection to `port`, open. */
function tcpTo(t: Test, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const raw = net.connect(port, '127.0.0.1', () => resolve(raw));
    raw.once('error', reject);
    t.teardown(() => raw.destroy());
  });
}

/** Whether `socket` closes within `ms` (a deadline: a socket the server keeps would stay open). */
function closesWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A peer's echo server over mutual TLS, serving `cert`, until the test ends; its port. */
async function peerServing(t: Test, cert: { ca: string; cert: string; key: string }): Promise<number> {
  const peer = echoServer();
  t.teardown(() => peer.forceShutdown());
  return new Promise<number>((resolve, reject) =>
    peer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(fs.readFileSync(cert.ca), [{ cert_chain: fs.readFileSync(cert.cert), private_key: fs.readFileSync(cert.key) }], true), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

const serialOf = (file: string): string => new X509Certificate(fs.readFileSync(file)).serialNumber;

void t.test('a client certificate revoked by a CRL published after start: accepted before the reload, refused after, and its open connection closed', async (t) => {
  const f = await fixture(t);
  const operator = f.certs.makeCert('ca', 'operator');
  const leaked = f.certs.makeCert('ca', 'leaked');
  const open = clientOf(t, f.port, f.files.ca, leaked);
  t.equal((await ask(open)).reply, serialOf(leaked.cert), 'before: the certificate calls');
  const operatorOpen = clientOf(t, f.port, f.files.ca, operator);
  t.equal((await ask(operatorOpen)).reply, serialOf(operator.cert));

  f.certs.revoke('ca', 'leaked');
  f.publishCrl();
  t.equal((await ask(clientOf(t, f.port, f.files.ca, leaked))).reply, serialOf(leaked.cert), 'the new CRL is on disk, not yet reloaded: still accepted');

  const outcome = f.reloader.reload();
  t.match(outcome, { ok: true, change: { changed: ['tls.crl'], crls: { count: 1, previousCount: 1 } } });
  const refused = await ask(clientOf(t, f.port, f.files.ca, leaked));
  t.equal(refused.err?.code, grpc.status.UNAVAILABLE, `after: a new connection is refused (${refused.err?.details ?? 'accepted'})`);
  await waitFor(() => f.failed.some((x) => x.code === 'CERT_REVOKED'), 'the refused handshake reported as CERT_REVOKED');
  t.equal((await ask(clientOf(t, f.port, f.files.ca, operator))).reply, serialOf(operator.cert), 'another certificate of the CA still calls');

  // The connections the leaked certificate opened before the reload are closed, and only those.
  await waitFor(() => f.logs.lines().filter((l) => l.code === 'TLS_REVOKED_CLOSED').length >= 2, 'the connections of the revoked certificate to be closed');
  const closed = f.logs.lines().filter((l) => l.code === 'TLS_REVOKED_CLOSED');
  t.equal(closed.length, 2, 'both connections the leaked certificate opened before the reload (no other)');
  for (const line of closed) t.match(line, { level: 40, serial: serialOf(leaked.cert), subject: /CN=leaked/, remote: /^127\.0\.0\.1:\d+$/ });
  t.same(f.revokedClosed, [2], 'counted once, with the number closed');
  const again = await ask(open);
  t.equal(again.err?.code, grpc.status.UNAVAILABLE, `its client, reconnecting, is refused (${again.err?.details ?? 'accepted'})`);
  t.equal((await ask(operatorOpen)).reply, serialOf(operator.cert), 'an unrevoked certificate keeps calling');
  t.same(f.results, ['ok']);
  t.match(f.logs.lines().find((l) => l.code === 'TLS_RELOADED'), { level: 30, changed: ['tls.crl'], crls: { count: 1 }, cert: { serial: serialOf(f.files.cert) } });

  // A reload that leaves tls.crl as it is looks at no connection.
  t.match(f.reloader.reload(), { ok: true, change: { changed: [] } });
  t.same(f.revokedClosed, [2]);
});

void t.test('a rotated server certificate is what new connections are shown', async (t) => {
  const f = await fixture(t);
  const operator = f.certs.makeCert('ca', 'operator');
  const before = serialOf(f.files.cert);
  t.equal(await servedSerial(t, f.port, f.files.ca, operator), before);
  const next = f.certs.makeCert('ca', 'c1-next', { peer: 'c1' });
  fs.copyFileSync(next.cert, f.files.cert);
  fs.copyFileSync(next.key, f.files.key);
  t.equal(await servedSerial(t, f.port, f.files.ca, operator), before, 'on disk only: the old one is still served');
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.cert', 'tls.key'], cert: { serial: serialOf(next.cert), previousSerial: before } } });
  t.equal(await servedSerial(t, f.port, f.files.ca, operator), serialOf(next.cert), 'after the reload: the new one');
  t.not(serialOf(next.cert), before);
});

void t.test('a file that fails the start-up checks on reload: the old material stays in force, the failure named', async (t) => {
  const f = await fixture(t);
  const operator = f.certs.makeCert('ca', 'operator');
  const leaked = f.certs.makeCert('ca', 'leaked');
  f.certs.revoke('ca', 'leaked');
  f.publishCrl();
  t.match(f.reloader.reload(), { ok: true }, 'a CRL revoking leaked is in force');
  const inForce = f.inForce.current;
  const served = serialOf(f.files.cert);

  // A CRL that does not parse, then a certificate without its key: each refused as at start.
  fs.writeFileSync(f.files.crl!, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
  t.match(f.reloader.reload(), { ok: false, problem: { keyPath: 'tls.crl', file: f.files.crl, reason: /not a usable certificate revocation list/ } });
  f.publishCrl();
  const next = f.certs.makeCert('ca', 'c1-next', { peer: 'c1' });
  fs.copyFileSync(next.cert, f.files.cert);
  t.match(f.reloader.reload(), { ok: false, problem: { keyPath: 'tls.key', file: f.files.key, reason: /does not match the certificate in tls.cert/ } });

  t.equal(f.inForce.current, inForce, 'the snapshot in force is the one from before');
  t.same(f.results, ['ok', 'failed', 'failed']);
  const failures = f.logs.lines().filter((l) => l.code === 'TLS_RELOAD_FAILED');
  t.match(failures, [
    { level: 50, key: 'tls.crl', file: f.files.crl, cause: /OpenSSL/ },
    { level: 50, key: 'tls.key', file: f.files.key, cause: /does not match/ },
  ]);
  t.equal(failures.length, 2);
  t.equal(await servedSerial(t, f.port, f.files.ca, operator), served, 'the old certificate is still served');
  t.equal((await ask(clientOf(t, f.port, f.files.ca, leaked))).err?.code, grpc.status.UNAVAILABLE, 'the CRL in force still refuses the revoked certificate');
  t.equal((await ask(clientOf(t, f.port, f.files.ca, operator))).reply, serialOf(operator.cert), 'and accepts the others');
});

void t.test('outgoing: new connections present the new certificate, and a peer whose server certificate the CRL revokes is refused', async (t) => {
  const f = await fixture(t);
  const c2 = f.certs.makeCert('ca', 'c2', { peer: 'c2' });
  const peerPort = await peerServing(t, c2);
  // As the peer transport dials: the node's client credentials, a channel of its own.
  const dial = (): grpc.Client => {
    const c = new grpc.Client(`localhost:${peerPort}`, f.inForce.credentials.client, { 'grpc.use_local_subchannel_pool': 1 });
    t.teardown(() => c.close());
    return c;
  };
  const before = serialOf(f.files.cert);
  const kept = dial();
  t.equal((await ask(kept)).reply, before, 'the peer sees the certificate in force');

  const next = f.certs.makeCert('ca', 'c1-next', { peer: 'c1' });
  fs.copyFileSync(next.cert, f.files.cert);
  fs.copyFileSync(next.key, f.files.key);
  t.match(f.reloader.reload(), { ok: true });
  t.equal((await ask(dial())).reply, serialOf(next.cert), 'a new channel presents the rotated certificate');
  t.equal((await ask(kept)).reply, before, 'the channel connected before keeps its connection, and the old certificate');

  f.certs.revoke('ca', 'c2');
  f.publishCrl();
  t.equal((await ask(dial())).reply, serialOf(next.cert), 'the CRL revoking the peer, not reloaded yet: accepted');
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.crl'] } });
  const refused = await ask(dial());
  t.equal(refused.err?.code, grpc.status.UNAVAILABLE, 'after the reload the revoked server certificate is refused');
  t.match(refused.err?.details ?? '', /revoked/i, `named as revoked: ${refused.err?.details ?? ''}`);

  // The connections opened to it before the reload are closed too: the one `kept` rides on among them.
  await waitFor(() => f.revokedClosed.length > 0, 'the connections to the revoked peer to be closed');
  const closed = f.logs.lines().filter((l) => l.code === 'TLS_REVOKED_CLOSED');
  t.ok(closed.length >= 1, `${closed.length} connection(s) to the peer closed`);
  for (const line of closed) t.match(line, { level: 40, side: 'outgoing', serial: serialOf(c2.cert), subject: /CN=c2/, remote: `127.0.0.1:${peerPort}`, msg: /to the peer at/ });
  const keptAfter = await ask(kept);
  t.equal(keptAfter.err?.code, grpc.status.UNAVAILABLE, `the channel connected before reconnects into the new CRL and is refused (${keptAfter.err?.details ?? 'answered'})`);
});

void t.test('/metrics over HTTPS follows a reload: a scraper certificate revoked after start is refused once reloaded', async (t) => {
  const f = await fixture(t, { scrapers: true });
  const prometheus = f.certs.makeCert('scrapers', 'prometheus');
  const other = f.certs.makeCert('scrapers', 'other-scraper');
  const metrics = new Metrics('c1');
  const address = `127.0.0.1:${(await freePorts(1))[0]!}`;
  await metrics.listen(address, f.inForce.metricsTls());
  f.inForce.bindMetrics(metrics);
  t.teardown(() => metrics.close());
  t.match(await scrapeHttps(address, f.files.ca, prometheus), { status: 200 }, 'before: the scraper reads /metrics');
  // As Prometheus does: one connection kept alive from scrape to scrape.
  const alive = await keptAliveScrape(t, address, f.files.ca, prometheus);

  f.certs.revoke('scrapers', 'prometheus');
  f.publishCrl();
  t.match(await scrapeHttps(address, f.files.ca, prometheus), { status: 200 }, 'the CRL on disk only: still served');
  t.notOk(alive.closed, 'the kept-alive connection is open before the reload');
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.crl'], crls: { count: 2 } } });
  await waitFor(() => f.revokedClosed.length > 0, 'the revoked scraper\'s connection to be closed');
  t.match(
    f.logs.lines().filter((l) => l.code === 'TLS_REVOKED_CLOSED'),
    [{ side: 'metrics', subject: /CN=prometheus/, serial: serialOf(prometheus.cert), msg: /to \/metrics/ }],
    'its kept-alive connection, and only it, closed by the reload',
  );
  await waitFor(() => alive.closed, 'the scraper to see its connection closed');
  t.match(await scrapeHttps(address, f.files.ca, prometheus), { error: String }, 'after the reload: the revoked scraper fails the handshake');
  t.match(await scrapeHttps(address, f.files.ca, other), { status: 200 }, "another of the scrapers' CA still reads");

  const next = f.certs.makeCert('ca', 'c1-next', { peer: 'c1' });
  fs.copyFileSync(next.cert, f.files.cert);
  fs.copyFileSync(next.key, f.files.key);
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.cert', 'tls.key'] } });
  const served = await new Promise<string>((resolve, reject) => {
    const idx = address.lastIndexOf(':');
    const socket = tls.connect({ host: '127.0.0.1', port: Number(address.slice(idx + 1)), servername: 'localhost', ca: fs.readFileSync(f.files.ca), cert: fs.readFileSync(other.cert), key: fs.readFileSync(other.key) }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
  t.equal(served, serialOf(next.cert), '/metrics serves the rotated certificate');
});

void t.test('a TLS session from before the reload is not resumed past the new CRL', async (t) => {
  const f = await fixture(t);
  const leaked = f.certs.makeCert('ca', 'leaked');
  /** A TLS 1.3 connection presenting `leaked`, resuming `session` if given: its ticket, whether it resumed, and how it ended. */
  const connect = (session?: Buffer): Promise<{ ticket: Buffer | null; reused: boolean | null; error: string | null }> =>
    new Promise((resolve) => {
      let ticket: Buffer | null = null;
      let reused: boolean | null = null;
      let error: string | null = null;
      const socket = tls.connect({ host: '127.0.0.1', port: f.port, servername: 'localhost', ca: fs.readFileSync(f.files.ca), cert: fs.readFileSync(leaked.cert), key: fs.readFileSync(leaked.key), ALPNProtocols: ['h2'], minVersion: 'TLSv1.3', ...(session ? { session } : {}) });
      // Done when: a fresh connection has its ticket, a resumption is seen, or the server ends it
      // (a refused certificate: in TLS 1.3 its alert arrives after this side's handshake); at
      // most 10 s, or the answer is left as it stands.
      const deadline = setTimeout(() => socket.destroy(), 10_000);
      socket.on('secureConnect', () => {
        reused = socket.isSessionReused();
        if (reused) socket.destroy();
      });
      socket.on('session', (s: Buffer) => {
        ticket = s;
        if (session === undefined) socket.destroy();
      });
      socket.on('error', (e) => (error = e.message));
      socket.on('close', () => {
        clearTimeout(deadline);
        resolve({ ticket, reused, error });
      });
      t.teardown(() => socket.destroy());
    });
  const first = await connect();
  t.ok(first.ticket, 'the first connection is given a session ticket');
  const resumed = await connect(first.ticket!);
  t.equal(resumed.reused, true, 'before the reload, the session resumes (no certificate check on resumption)');
  f.certs.revoke('ca', 'leaked');
  f.publishCrl();
  t.match(f.reloader.reload(), { ok: true });
  const after = await connect(first.ticket!);
  t.not(after.reused, true, 'after the reload the old session is not resumed');
  // The listener closes a refused connection at once, so the client may see only the close.
  await waitFor(() => f.failed.some((x) => x.code === 'CERT_REVOKED'), 'the full handshake refusing the certificate as CERT_REVOKED');
  t.equal(f.failed.filter((x) => x.code === 'CERT_REVOKED').length, 1, 'that connection, and only it, refused');
});

void t.test('a connection accepted before a reload and handshaken after it is not let through on the old CRL', async (t) => {
  const f = await fixture(t);
  const leaked = f.certs.makeCert('ca', 'leaked');
  // The check itself: over a connection accepted now, the key calls.
  t.match(await callOver(await tcpTo(t, f.port), f.files.ca, leaked), { reply: serialOf(leaked.cert) }, 'a hand-made call over a fresh connection is answered');

  // The attack: connections opened and left idle before the revocation, used after it.
  const early = [await tcpTo(t, f.port), await tcpTo(t, f.port)];
  await waitFor(() => f.listener.pendingHandshakes === 2, 'both connections accepted, in their handshake');
  f.certs.revoke('ca', 'leaked');
  f.publishCrl();
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.crl'] } });
  t.ok(await closesWithin(early[0]!, 3000), 'the reload closes a connection still in its handshake (the handshake timeout is 10 s)');
  const attempt = await callOver(early[1]!, f.files.ca, leaked);
  t.match(attempt, { failed: String }, `the revoked key gets no answer through a connection accepted before the reload (${JSON.stringify(attempt)})`);
  t.equal(f.failed.filter((x) => x.code !== 'CERT_REVOKED').length, 0, 'the cut connections are not reported as failed handshakes');
  t.match(await callOver(await tcpTo(t, f.port), f.files.ca, f.certs.makeCert('ca', 'operator')), { reply: String }, 'a connection made after the reload is served');

  // A reload that changes nothing leaves handshakes in flight alone.
  const idle = await tcpTo(t, f.port);
  await waitFor(() => f.listener.pendingHandshakes === 1, 'a connection in its handshake');
  t.match(f.reloader.reload(), { ok: true, change: { changed: [] } });
  t.notOk(await closesWithin(idle, 500), 'not cut by a reload that changed nothing');
});

void t.test('outgoing: a handshake begun before the reload is given up, not completed on the old CRL', async (t) => {
  const f = await fixture(t);
  const c2 = f.certs.makeCert('ca', 'c2', { peer: 'c2' });
  const peerPort = await peerServing(t, c2);
  // A relay that holds each connection until released: the handshake waits in it.
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((inbound) => {
    sockets.add(inbound);
    held.push(() => {
      const outbound = net.connect(peerPort, '127.0.0.1');
      sockets.add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      outbound.on('error', () => inbound.destroy());
      inbound.on('error', () => outbound.destroy());
      inbound.on('close', () => outbound.destroy());
    });
  });
  const relayPort = await new Promise<number>((resolve) => relay.listen(0, '127.0.0.1', () => resolve((relay.address() as net.AddressInfo).port)));
  t.teardown(() => {
    relay.close();
    for (const socket of sockets) socket.destroy();
  });
  const c = new grpc.Client(`localhost:${relayPort}`, f.inForce.credentials.client, { 'grpc.use_local_subchannel_pool': 1 });
  t.teardown(() => c.close());
  const answer = ask(c);
  await waitFor(() => held.length === 1, 'the channel to begin connecting');
  f.certs.revoke('ca', 'c2');
  f.publishCrl();
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.crl'] } });
  for (const release of held.splice(0)) release();
  const outcome = await answer;
  t.equal(outcome.err?.code, grpc.status.UNAVAILABLE, `the call over the handshake begun before the reload fails (${outcome.err?.details ?? `answered ${outcome.reply ?? ''}`})`);
});

void t.test('/metrics: a connection accepted before a reload that changed the material is cut', async (t) => {
  const f = await fixture(t, { scrapers: true });
  const metrics = new Metrics('c1');
  const port = (await freePorts(1))[0]!;
  await metrics.listen(`127.0.0.1:${port}`, f.inForce.metricsTls());
  f.inForce.bindMetrics(metrics);
  t.teardown(() => metrics.close());
  const early = await tcpTo(t, port);
  f.certs.makeCert('scrapers', 'retired');
  f.certs.revoke('scrapers', 'retired');
  f.publishCrl();
  t.match(f.reloader.reload(), { ok: true, change: { changed: ['tls.crl'] } });
  t.ok(await closesWithin(early, 3000), 'closed at the reload, before its handshake');
});
