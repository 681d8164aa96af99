/**
 * The gRPC port's own listener (src/transport/guarded-listener.ts): calls over mutual TLS still
 * carry the peer certificate; silent connections past the pending-handshake cap close the
 * oldest first and a real client still gets through; the total cap refuses new connections; a
 * certificate from a wrong CA is counted and logged (rate-limited); shutdown ends everything.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import client from 'prom-client';
import t, { type Test } from 'tap';
import { GuardedListener, type GuardedListenerOptions } from '../../src/transport/guarded-listener.js';
import { mutualTlsCredentials, type TlsFiles } from '../../src/transport/credentials.js';
import type { CapReason } from '../../src/transport/connection-caps.js';
import { HandshakeFailureLog, type HandshakeFailure } from '../../src/transport/handshake-failures.js';
import { listenGrpc } from '../../src/node/grpc-listener.js';
import { CertMaker } from '../helpers/certs.js';
import { captureLogs } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/wait-for.js';
import { freePorts } from '../helpers/free-ports.js';

/** A port no other test takes (free-ports.ts), as host:port. */
const at = async (host: string): Promise<string> => `${host}:${(await freePorts(1))[0]!}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guarded-listener-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('stranger');
const serverFiles = certs.makeCert('ca', 'c1', { peer: 'c1' });
const operator = certs.makeCert('ca', 'operator');
const strangerCert = certs.makeCert('stranger', 'mallory');
const expired = certs.makeCert('ca', 'old', { days: -1 });

const PUT = '/controller.api.Controller/Put';
const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };

/** A server whose one method answers with the CN of the caller's certificate, as getAuthContext gives it. */
function whoAmIServer(): grpc.Server {
  const srv = new grpc.Server();
  srv.addService(
    { Put: { path: PUT, requestStream: false, responseStream: false, ...bytes } },
    {
      Put: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const ctx = call.getAuthContext();
        const cn: unknown = ctx?.sslPeerCertificate?.subject?.CN;
        cb(null, Buffer.from(`${typeof cn === 'string' ? cn : 'none'} raw=${ctx?.sslPeerCertificate?.raw ? 'yes' : 'no'}`));
      },
    },
  );
  return srv;
}

interface Recorded {
  readonly capped: CapReason[];
  readonly failed: HandshakeFailure[];
}

async function start(t: Test, opts: Partial<GuardedListenerOptions> & { readonly tls: GuardedListenerOptions['tls'] }): Promise<{ listener: GuardedListener; server: grpc.Server; seen: Recorded }> {
  const server = whoAmIServer();
  const seen: Recorded = { capped: [], failed: [] };
  const listener = await GuardedListener.listen(await at('127.0.0.1'), {
    server,
    events: { capped: (r) => seen.capped.push(r), handshakeFailed: (f) => seen.failed.push(f) },
    ...opts,
  });
  t.teardown(async () => {
    server.forceShutdown();
    listener.destroyAll();
    await listener.close();
  });
  return { listener, server, seen };
}

function tlsClient(t: Test, port: number, files: TlsFiles): grpc.Client {
  const c = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(fs.readFileSync(serverFiles.ca), fs.readFileSync(files.key), fs.readFileSync(files.cert)));
  t.teardown(() => c.close());
  return c;
}

function put(c: grpc.Client): Promise<{ err: grpc.ServiceError | null; reply: string | null }> {
  return new Promise((resolve) =>
    c.makeUnaryRequest(PUT, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('k=v'), { deadline: Date.now() + 5000 }, (err, reply) =>
      resolve({ err: err ?? null, reply: reply?.toString() ?? null }),
    ),
  );
}

/** Opens a TCP connection that never says a word; resolves once connected. */
async function silent(t: Test, port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed: () => closed };
}

const tlsOptions = mutualTlsCredentials(serverFiles).listenerTls ?? null;

void t.test('over mutual TLS through the injector, calls see the peer certificate and the handshake stops being pending', async (t) => {
  const { listener } = await start(t, { tls: tlsOptions });
  const answer = await put(tlsClient(t, listener.port, operator));
  t.equal(answer.err, null);
  t.equal(answer.reply, 'operator raw=yes', 'getAuthContext().sslPeerCertificate as with bindAsync');
  t.equal(listener.openConnections, 1);
  t.equal(listener.pendingHandshakes, 0, 'the finished handshake no longer counts as pending');
});

void t.test('plaintext through the injector', async (t) => {
  const { listener } = await start(t, { tls: null });
  const c = new grpc.Client(`127.0.0.1:${listener.port}`, grpc.credentials.createInsecure());
  t.teardown(() => c.close());
  const answer = await put(c);
  t.equal(answer.reply, 'none raw=no');
  t.equal(listener.pendingHandshakes, 0, 'nothing pends without TLS');
});

void t.test('past the pending-handshake cap the oldest silent connections close, and a real client still gets through', async (t) => {
  const cap = 8;
  const { listener, seen } = await start(t, { tls: tlsOptions, caps: { maxConnections: 1000, maxPendingHandshakes: cap } });
  const sockets: Array<Awaited<ReturnType<typeof silent>>> = [];
  for (let i = 0; i < cap + 4; i++) {
    sockets.push(await silent(t, listener.port));
    // Each is admitted in order before the next: age order is what the test checks.
    await waitFor(() => listener.openConnections === Math.min(i + 1, cap), `connection ${i + 1} admitted`);
  }
  await waitFor(() => sockets.slice(0, 4).every((s) => s.closed()), 'the 4 oldest closed');
  t.ok(sockets.slice(4).every((s) => !s.closed()), 'the newest 8 are still open');
  t.equal(listener.pendingHandshakes, cap);
  t.same(seen.capped, Array(4).fill('max_pending_handshakes'));
  const answer = await put(tlsClient(t, listener.port, operator));
  t.equal(answer.reply, 'operator raw=yes', 'a real client connects and calls with the cap full of silent connections');
  t.same(seen.failed, [], 'evicted connections are not failed handshakes');
});

void t.test('at the total cap a new connection is closed at once', async (t) => {
  const { listener, seen } = await start(t, { tls: null, caps: { maxConnections: 3, maxPendingHandshakes: 3 } });
  const held = [await silent(t, listener.port), await silent(t, listener.port), await silent(t, listener.port)];
  await waitFor(() => listener.openConnections === 3, 'three connections open');
  const fourth = await silent(t, listener.port);
  await waitFor(() => fourth.closed(), 'the fourth connection closed');
  t.ok(held.every((s) => !s.closed()), 'the three held stay open');
  t.same(seen.capped, ['max_connections']);
});

void t.test('a certificate from a wrong CA, or expired: a failed handshake with its reason and the source', async (t) => {
  const { listener, seen } = await start(t, { tls: tlsOptions });
  const wrong = await put(tlsClient(t, listener.port, strangerCert));
  t.equal(wrong.err?.code, grpc.status.UNAVAILABLE);
  await waitFor(() => seen.failed.length >= 1, 'the failed handshake reported');
  t.match(seen.failed[0], { source: '127.0.0.1', reason: 'certificate', code: /^[A-Z_]+$/ });
  const old = await put(tlsClient(t, listener.port, expired));
  t.equal(old.err?.code, grpc.status.UNAVAILABLE);
  await waitFor(() => seen.failed.some((f) => f.code === 'CERT_HAS_EXPIRED'), 'the expired certificate reported as such');
  t.equal(listener.pendingHandshakes, 0);
});

void t.test('through the node wiring: metrics count, the log says it once per source per minute', async (t) => {
  const registry = new client.Registry();
  const { logger, lines } = captureLogs();
  const server = whoAmIServer();
  const listener = await listenGrpc(await at('127.0.0.1'), server, mutualTlsCredentials(serverFiles), registry, logger);
  t.teardown(async () => {
    server.forceShutdown();
    listener.destroyAll();
    await listener.close();
  });
  for (let i = 0; i < 3; i++) t.equal((await put(tlsClient(t, listener.port, strangerCert))).err?.code, grpc.status.UNAVAILABLE);
  const failures = async (): Promise<number> => (await registry.getSingleMetric('controller_tls_handshake_failures_total')!.get()).values.find((v) => v.labels.reason === 'certificate')?.value ?? 0;
  // grpc-js retries a failed connect: at least one handshake per call.
  await waitFor(async () => (await failures()) >= 3, 'three refused handshakes counted');
  const refused = lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('refused a TLS handshake'));
  t.equal(refused.length, 1, 'one line for the source this minute');
  t.match(refused[0], { level: 40, source: '127.0.0.1', reason: 'certificate', count: 1 });
  const text = await registry.metrics();
  t.match(text, /controller_connections_open \d+/);
  t.match(text, /controller_connections_pending_handshake 0/);
  t.match(text, /controller_connections_capped_total\{reason="max_pending_handshakes"\} 0/);
});

void t.test('the log line carries the count of the lines it held back', (t) => {
  const { logger, lines } = captureLogs();
  let now = 0;
  const log = new HandshakeFailureLog(logger, () => now);
  const f: HandshakeFailure = { source: '10.0.0.1', reason: 'certificate', code: 'CERT_HAS_EXPIRED', message: 'client certificate refused: CERT_HAS_EXPIRED' };
  for (let i = 0; i < 5; i++) log.record(f);
  log.record({ ...f, source: '10.0.0.2' });
  now = 60_000;
  log.record(f);
  t.same(
    lines().map((l) => [l.source, l.count]),
    [
      ['10.0.0.1', 1],
      ['10.0.0.2', 1],
      ['10.0.0.1', 5],
    ],
  );
  t.end();
});

void t.test('many source addresses: at most 100 lines a minute in all, the next one counts the rest', (t) => {
  const { logger, lines } = captureLogs();
  let now = 0;
  const log = new HandshakeFailureLog(logger, () => now);
  const f = (i: number): HandshakeFailure => ({ source: `2001:db8::${i.toString(16)}`, reason: 'timeout', code: 'ERR_TLS_HANDSHAKE_TIMEOUT', message: 'timed out' });
  for (let i = 0; i < 1000; i++) log.record(f(i));
  t.equal(lines().length, 100);
  now = 60_000;
  log.record(f(5000));
  t.match(lines().at(-1), { source: '2001:db8::1388', count: 1, othersSuppressed: 900 });
  t.end();
});

void t.test('shutdown: grpc-js ends the served connections, close() the pending ones and stops listening', async (t) => {
  const server = whoAmIServer();
  const listener = await GuardedListener.listen(await at('127.0.0.1'), { server, tls: tlsOptions });
  const port = listener.port;
  const c = tlsClient(t, port, operator);
  t.equal((await put(c)).reply, 'operator raw=yes');
  const pending = await silent(t, port);
  await waitFor(() => listener.openConnections === 2, 'a served and a pending connection');
  const closed = listener.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  listener.destroyAll();
  await closed;
  t.ok(pending.closed(), 'the pending connection was closed');
  t.equal(listener.openConnections, 0, 'no connection left');
  const refused = await new Promise<string>((resolve) => net.connect(port, '127.0.0.1').once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')).once('connect', () => resolve('connected')));
  t.equal(refused, 'ECONNREFUSED', 'nothing listens any more');
});

void t.test('listen: a port in use is the bind error; IPv6 and host names bind as grpc-js did', async (t) => {
  const taken = (await freePorts(1))[0]!;
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  await t.rejects(GuardedListener.listen(`127.0.0.1:${taken}`, { server: whoAmIServer(), tls: null }), { code: 'EADDRINUSE' });
  const byName = await start(t, { tls: null });
  t.ok(byName.listener.port > 0);
  const named = await GuardedListener.listen(await at('localhost'), { server: whoAmIServer(), tls: null });
  t.teardown(() => named.close());
  t.ok(named.port > 0, 'localhost binds');
  const v6 = await GuardedListener.listen(await at('[::1]'), { server: whoAmIServer(), tls: null }).catch((err: NodeJS.ErrnoException) => err);
  if (v6 instanceof GuardedListener) {
    t.teardown(() => v6.close());
    t.ok(v6.port > 0, '[::1] binds');
  } else t.equal(v6.code, 'EADDRNOTAVAIL', 'no IPv6 on this host');
});
