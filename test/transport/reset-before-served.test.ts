/**
 * Streams reset before they are served (src/transport/reset-before-served.ts): one write of
 * HEADERS, a message and RST_STREAM for hundreds of streams, to a path no service has and with a
 * content-type that is not gRPC's, once threw ERR_HTTP2_INVALID_STREAM out of grpc-js's 'stream'
 * handler and took the process down; now each is counted and dropped, and the port goes on
 * serving. A dropped stream's later 'error' (REFUSED_STREAM once nghttp2 gives the connection up)
 * must not go unheard either: a first version of the fix took a controller down that way. And a
 * connection whose client resets calls past its budget ("rapid reset") is ended.
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { mutualTlsCredentials } from '../../src/transport/credentials.js';
import { CertMaker } from '../helpers/certs.js';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { GuardedListener } from '../../src/transport/guarded-listener.js';
import net from 'node:net';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { resetCall } from '../../src/transport/call-reset.js';
import { CERTIFICATE_RESET_BUDGET, certificateOf, droppedIfGone, injectorDroppingResetStreams, RESET_BUDGET, RESET_FREE_AFTER_MS, ResetGuard, type ResetBudgetKind } from '../../src/transport/reset-before-served.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { frame, hpackString as hstr, literal } from '../helpers/h2-wire.js';

const PUT = '/controller.api.Controller/Put';
const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };

/** POST `path` (static-table :method and :scheme, literal :path and :authority). */
function headerBlock(path: string, contentType: string): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x86, 0x04]), hstr(path), Buffer.from([0x01]), hstr('localhost'), literal('content-type', contentType), literal('te', 'trailers')]);
}

const HEADERS = 0x1;
const DATA = 0x0;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const CANCEL = Buffer.from([0, 0, 0, 8]);

/** The whole attack in one write: `count` streams opened, sent an empty message, and reset; then a PING to know it was all read. */
function burst(count: number, path: string, contentType: string): Buffer {
  const frames = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(SETTINGS, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < count; i++) {
    const id = 2 * i + 1;
    frames.push(frame(HEADERS, END_HEADERS, id, headerBlock(path, contentType)), frame(DATA, END_STREAM, id, Buffer.alloc(5)), frame(RST_STREAM, 0, id, CANCEL));
  }
  frames.push(frame(PING, 0, 0, Buffer.from('burstend')));
  return Buffer.concat(frames);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reset-before-served-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
const serverFiles = certs.makeCert('ca', 'c1', { peer: 'c1' });
const operator = certs.makeCert('ca', 'operator');

/**
 * Sends `data` on a mutual-TLS connection and resolves once the server has read it: it acknowledged
 * the PING at its end, or gave the connection up (GOAWAY: nghttp2 ends a connection that resets
 * streams faster than its limit), or closed it.
 */
/**
 * A mutual-TLS connection of `client`'s certificate that writes `data` once secure and hands each
 * whole frame the server sends to `onFrame` (type, flags, payload).
 */
function connectWriting(port: number, data: Buffer, client: { ca: string; cert: string; key: string }, onFrame: (socket: tls.TLSSocket, type: number, flags: number, payload: Buffer) => void): tls.TLSSocket {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'], ca: fs.readFileSync(client.ca), cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) });
  socket.on('error', () => undefined);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) return;
      onFrame(socket, pending[3]!, pending[4]!, pending.subarray(9, 9 + length));
      pending = pending.subarray(9 + length);
    }
  });
  socket.on('secureConnect', () => socket.write(data));
  return socket;
}

async function sendAndWaitForPingAck(port: number, data: Buffer, client: { ca: string; cert: string; key: string } = operator): Promise<'acked' | `goaway ${number}` | 'closed'> {
  let settle: (outcome: 'acked' | `goaway ${number}` | 'closed') => void = () => undefined;
  const socket = connectWriting(port, data, client, (_socket, type, flags, payload) => {
    if (type === PING && (flags & 0x1) === 1) settle('acked');
    if (type === GOAWAY) settle(`goaway ${payload.readUInt32BE(4)}`);
  });
  try {
    return await new Promise((resolve) => {
      settle = resolve;
      socket.on('close', () => resolve('closed'));
    });
  } finally {
    socket.destroy();
  }
}

async function start(t: Test): Promise<{ port: number; dropped: () => number; flooded: () => number; served: () => number; uncaught: unknown[] }> {
  // The controllers' port caps the streams of a connection (max_streams_per_connection): those
  // past it in the burst are refused by nghttp2 and destroyed with an error.
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1024 });
  server.addService({ Put: { path: PUT, requestStream: false, responseStream: false, ...bytes } }, {
      Put: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        served++;
        cb(null, Buffer.from('ok'));
      },
    },
  );
  let served = 0;
  let dropped = 0;
  let flooded = 0;
  const listener = await GuardedListener.listen(`127.0.0.1:${(await freePorts(1))[0]!}`, { server, tls: mutualTlsCredentials(serverFiles).listenerTls ?? null, events: { streamResetBeforeServed: () => dropped++, resetFlood: () => flooded++ } });
  // What would have ended the process is recorded for the assertion instead.
  const uncaught: unknown[] = [];
  const record = (err: unknown): void => void uncaught.push(err);
  process.on('uncaughtException', record);
  t.teardown(async () => {
    process.off('uncaughtException', record);
    server.forceShutdown();
    listener.destroyAll();
    await listener.close();
  });
  return { port: listener.port, dropped: () => dropped, flooded: () => flooded, served: () => served, uncaught };
}

async function answersPut(port: number): Promise<string | null> {
  const c = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(fs.readFileSync(operator.ca), fs.readFileSync(operator.key), fs.readFileSync(operator.cert)));
  try {
    return await new Promise((resolve) =>
      c.makeUnaryRequest(PUT, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('x'), { deadline: Date.now() + 5000 }, (err, reply) => resolve(err ? `error: ${err.message}` : reply?.toString() ?? null)),
    );
  } finally {
    c.close();
  }
}

for (const [what, path, contentType] of [
  ['a path no service has', '/nope.Nope/Nope', 'application/grpc'],
  ['a content-type that is not gRPC', PUT, 'text/plain'],
  ['a known method', PUT, 'application/grpc'],
] as const) {
  void t.test(`streams reset in the read that opened them, to ${what}, are dropped without an uncaught exception`, async (t) => {
    const { port, dropped, flooded, uncaught } = await start(t);
    t.not(await sendAndWaitForPingAck(port, burst(150, path, contentType)), 'closed', 'the server read the whole burst');
    await waitFor(() => dropped() > 0 || uncaught.length > 0, 'a reset stream dropped (or the old crash)');
    t.equal(flooded(), 0, '150 resets are within the budget of a connection');
    t.same(
      uncaught.map((e) => (e instanceof Error ? e.message : String(e))),
      [],
      'nothing thrown out of the server (before: ERR_HTTP2_INVALID_STREAM, the process ended)',
    );
    t.equal(await answersPut(port), 'ok', 'the port still serves');
  });
}

/** A stream as Node hands it over: `destroyed`/`closed` as given; its 'error' emitted by the test. */
class FakeStream extends EventEmitter {
  destroyCalls = 0;
  constructor(
    public destroyed: boolean,
    public closed: boolean,
  ) {
    super();
  }
  destroy(): this {
    this.destroyCalls++;
    this.destroyed = true;
    return this;
  }
}

void t.test('a dropped stream is destroyed and its later error is heard; an open one is left to grpc-js', (t) => {
  const gone = new FakeStream(true, true);
  t.equal(droppedIfGone(gone), true);
  t.doesNotThrow(() => gone.emit('error', new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM')), 'the error Node emits a tick later has a listener');
  const closedOnly = new FakeStream(false, true);
  t.equal(droppedIfGone(closedOnly), true, 'closed (reset) but not yet destroyed: respond() would throw too');
  t.equal(closedOnly.destroyCalls, 1);
  const open = new FakeStream(false, false);
  t.equal(droppedIfGone(open), false);
  t.equal(open.listenerCount('error'), 0, 'an open stream is untouched');
  t.equal(open.destroyCalls, 0);
  t.end();
});

void t.test('a connection that resets its calls past the budget is ended ENHANCE_YOUR_CALM before it is read to the end', async (t) => {
  const { port, flooded, served } = await start(t);
  const end = await sendAndWaitForPingAck(port, burst(5000, PUT, 'application/grpc'));
  t.equal(end, `goaway ${http2.constants.NGHTTP2_ENHANCE_YOUR_CALM}`, 'GOAWAY ENHANCE_YOUR_CALM before the PING after 5,000 calls was answered');
  t.equal(flooded(), 1);
  t.ok(served() < 2000, `at most the budget and the rest of one read were served, not 5,000 (served ${served()})`);
  t.equal(await answersPut(port), 'ok', 'a new connection is served');
});

void t.test('the reset budget: a burst, then a rate; a connection ended once, a closed one not again', (t) => {
  let now = 0;
  let floods = 0;
  const guard = new ResetGuard(() => now, () => floods++, { burst: 3, perSecond: 2 });
  const ended: number[] = [];
  const session = { destroyed: false, goaway: (code: number): void => void ended.push(code), destroy: (): void => void (session.destroyed = true) };
  t.same([guard.reset(session), guard.reset(session), guard.reset(session)], [true, true, true], 'the burst');
  now = 500;
  t.equal(guard.reset(session), true, 'a token back after half a second at 2 a second');
  t.equal(guard.reset(session), false, 'then none: ended');
  t.same(ended, [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
  t.equal(floods, 1);
  t.equal(guard.reset(session), false, 'an ended connection is not ended again');
  t.equal(floods, 1);
  const other = { destroyed: false, goaway: (): void => undefined, destroy: (): void => undefined };
  t.equal(guard.reset(other), true, 'each connection has its own budget');
  t.equal(guard.reset(undefined), false, 'a stream without a session is no one\'s');
  t.end();
});

void t.test("a certificate's resets across its connections spend its own budget: the connection that overspends it is ended", (t) => {
  const now = 0;
  const floods: ResetBudgetKind[] = [];
  const guard = new ResetGuard(() => now, (over) => void floods.push(over), { burst: 3, perSecond: 1 }, { burst: 4, perSecond: 1 });
  const connection = (): { destroyed: boolean; ended: number[]; goaway: (code: number) => void; destroy: () => void } => {
    const c = { destroyed: false, ended: [] as number[], goaway: (code: number): void => void c.ended.push(code), destroy: (): void => void (c.destroyed = true) };
    return c;
  };
  const [a, b, c] = [connection(), connection(), connection()];
  t.same([guard.reset(a, 'cn:op'), guard.reset(a, 'cn:op'), guard.reset(b, 'cn:op'), guard.reset(b, 'cn:op')], [true, true, true, true], "within each connection's budget and the certificate's");
  t.equal(guard.reset(c, 'cn:op'), false, "a third connection's first reset is past the certificate's budget");
  t.same(c.ended, [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
  t.same(floods, ['certificate']);
  t.equal(a.destroyed || b.destroyed, false, 'the others are not ended');
  const d = connection();
  t.equal(guard.reset(d, 'cn:other'), true, 'another certificate has its own');
  t.equal(guard.reset(d, null), true, 'and a connection without a certificate only its own (plaintext)');
  t.end();
});

void t.test("a session's certificate is named by its fingerprint: two certificates sharing a CN do not share a budget; none in plaintext", (t) => {
  const withCert = (cert: unknown): { socket: unknown } => ({ socket: { getPeerCertificate: () => cert } });
  t.equal(certificateOf(withCert({ subject: { CN: 'agent-7' }, fingerprint256: 'AA' })), 'cert:AA');
  t.equal(certificateOf(withCert({ subject: {}, fingerprint256: 'AA:BB' })), 'cert:AA:BB');
  t.equal(certificateOf(withCert({})), null, 'an empty certificate object (none sent)');
  t.equal(certificateOf({ socket: {} }), null, 'a plaintext socket');
  t.equal(certificateOf(undefined), null);

  // An agent whose id is a member's id (AGENT_ID_PATTERN allows "c1") holds a certificate with
  // the member's CN: spending its certificate's budget must not end the member's connections.
  const member = withCert({ subject: { CN: 'c1' }, fingerprint256: 'MEMBER' });
  const agent = withCert({ subject: { CN: 'c1' }, fingerprint256: 'AGENT' });
  t.not(certificateOf(member), certificateOf(agent), 'one name each');
  const floods: ResetBudgetKind[] = [];
  const guard = new ResetGuard(() => 0, (over) => void floods.push(over), { burst: 3, perSecond: 1 }, { burst: 4, perSecond: 1 });
  const connection = (): { destroyed: boolean; goaway: () => void; destroy: () => void } => {
    const c = { destroyed: false, goaway: (): void => undefined, destroy: (): void => void (c.destroyed = true) };
    return c;
  };
  for (let i = 0; i < 3; i++) {
    const attacker = connection();
    while (guard.reset(attacker, certificateOf(agent)));
  }
  t.same(floods.slice(-1), ['certificate'], "the agent's certificate spent its budget");
  const honest = connection();
  t.equal(guard.reset(honest, certificateOf(member)), true, "the member's connection still resets within its own certificate's budget");
  t.equal(honest.destroyed, false);
  t.end();
});

const SLOW = '/controller.api.Controller/Range';

/**
 * A plaintext server through the reset guard, on a fake clock, whose one method holds its calls
 * (`held`: answer each) behind the controllers' first interceptor (so a handler may reset its call).
 */
async function holdingServer(t: Test) {
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1024, interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined })] });
  const held: Array<() => void> = [];
  const calls: grpc.ServerUnaryCall<Buffer, Buffer>[] = [];
  server.addService({ Range: { path: SLOW, requestStream: false, responseStream: false, ...bytes } }, {
    Range: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      calls.push(call);
      held.push(() => cb(null, Buffer.from('ok')));
    },
  });
  const clock = { now: 0 };
  let flooded = 0;
  const injector = injectorDroppingResetStreams(server, grpc.ServerCredentials.createInsecure(), { flooded: () => flooded++ }, () => clock.now);
  const listener = net.createServer((socket) => injector.injectConnection(socket));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<net.Socket>();
  listener.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  const c = new grpc.Client(`127.0.0.1:${(listener.address() as net.AddressInfo).port}`, grpc.credentials.createInsecure());
  t.teardown(async () => {
    c.close();
    server.forceShutdown();
    injector.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => listener.close(resolve));
  });
  const open = (): { call: grpc.ClientUnaryCall; answer: Promise<string> } => {
    let call: grpc.ClientUnaryCall | undefined;
    const answer = new Promise<string>((resolve) => {
      call = c.makeUnaryRequest(SLOW, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('x'), { deadline: Date.now() + 10_000 }, (err, reply) => resolve(err ? grpc.status[err.code] : (reply?.toString() ?? '')));
    });
    return { call: call!, answer };
  };
  return { held, calls, clock, flooded: () => flooded, open };
}

void t.test('calls open for a while and cancelled at once (forwards given up, watches) cost no budget; calls reset young still do', async (t) => {
  const { held, clock, flooded, open } = await holdingServer(t);
  const cancelAll = async (n: number): Promise<string[]> => {
    const base = held.length;
    const calls = Array.from({ length: n }, open);
    await waitFor(() => held.length >= base + n, `${n} calls in their handler`);
    clock.now += RESET_FREE_AFTER_MS;
    for (const x of calls) x.call.cancel();
    return Promise.all(calls.map((x) => x.answer));
  };
  const count = RESET_BUDGET.burst + 100;
  t.same([...new Set(await cancelAll(count))], ['CANCELLED']);
  const next = open();
  await waitFor(() => held.length > count, 'the next call in its handler');
  for (const h of held.splice(0)) h();
  t.equal(await next.answer, 'ok', `the connection still serves after ${count} calls cancelled at once (before: GOAWAY ENHANCE_YOUR_CALM, UNAVAILABLE)`);
  t.equal(flooded(), 0);
  // The same cancels, each call reset the moment it is in its handler, spend the budget as before.
  const young = Array.from({ length: count }, open);
  await waitFor(() => held.length >= count, `${count} calls in their handler`);
  for (const x of young) x.call.cancel();
  await Promise.all(young.map((x) => x.answer));
  await waitFor(() => flooded() === 1, 'the connection ended for resetting young calls past the budget');
});

void t.test("the server's own resets of young calls (a cap's cuts) cost its client's connection nothing", async (t) => {
  const { held, calls, flooded, open } = await holdingServer(t);
  const count = RESET_BUDGET.burst + 100;
  const cut = Array.from({ length: count }, open);
  await waitFor(() => calls.length >= count, `${count} calls in their handler`);
  // As incomplete-requests.ts cuts the calls past the port's cap, or a watch a slow reader holds up.
  for (const call of calls.splice(0)) resetCall(call, 'exhausted');
  t.same([...new Set(await Promise.all(cut.map((x) => x.answer)))], ['RESOURCE_EXHAUSTED']);
  const next = open();
  await waitFor(() => calls.length === 1, 'the next call in its handler');
  for (const h of held.splice(0)) h();
  t.equal(await next.answer, 'ok', `the connection still serves after the server reset ${count} of its young calls (before: GOAWAY ENHANCE_YOUR_CALM, the cuts charged to the client)`);
  t.equal(flooded(), 0);
});

void t.test('a grpc-js whose injector server hears no streams, or keeps no map of them, is refused loudly, not left unguarded or unanswered', (t) => {
  const fakeServer = (listen: boolean): grpc.Server => {
    const http2Servers = new Map<unknown, unknown>();
    return {
      http2Servers,
      createConnectionInjector: () => {
        const h2 = new EventEmitter();
        if (listen) h2.on('stream', () => undefined);
        http2Servers.set(h2, {});
        return { injectConnection: () => undefined, drain: () => undefined, destroy: () => undefined };
      },
    } as unknown as grpc.Server;
  };
  const creds = grpc.ServerCredentials.createInsecure();
  t.doesNotThrow(() => injectorDroppingResetStreams(fakeServer(true), creds), "grpc-js as it is: the server's 'stream' listener is wrapped");
  t.throws(() => injectorDroppingResetStreams(fakeServer(false), creds), /no 'stream' listener to guard \(src\/transport\/reset-before-served.ts\)/);
  t.throws(() => injectorDroppingResetStreams({ createConnectionInjector: () => ({}) } as unknown as grpc.Server, creds), /no http2Servers map/);
  t.end();
});

/**
 * One certificate opening several connections, each resetting calls within its own budget
 * (HEADERS, a message, RST_STREAM, one write each, raw HTTP/2 over mutual TLS): before, each
 * connection had a fresh RESET_BUDGET and none was ended; now their sum spends the certificate's.
 * The calls are held unanswered and the clock stands still, so each reset is charged and nothing refills.
 */
void t.test("one certificate's connections share a reset budget: the one past it is ended ENHANCE_YOUR_CALM; another certificate's is not", async (t) => {
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1024 });
  const held: Array<() => void> = [];
  server.addService({ Range: { path: SLOW, requestStream: false, responseStream: false, ...bytes } }, {
    Range: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => void held.push(() => cb(null, Buffer.from('ok'))),
  });
  const floods: ResetBudgetKind[] = [];
  const injector = injectorDroppingResetStreams(server, grpc.ServerCredentials.createInsecure(), { flooded: (over) => void floods.push(over) }, () => 0);
  const engine = tls.createServer(mutualTlsCredentials(serverFiles).listenerTls ?? {});
  engine.on('secureConnection', (socket: tls.TLSSocket) => injector.injectConnection(socket));
  engine.on('tlsClientError', () => undefined);
  const sockets = new Set<net.Socket>();
  engine.on('connection', (s: net.Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const h of held) h();
    server.forceShutdown();
    injector.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => engine.close(resolve));
  });
  const port = (engine.address() as net.AddressInfo).port;
  // Under a connection's burst each; together past the certificate's. Each stays open to the end:
  // its resets are charged a turn after the server acknowledged the PING, and a closed
  // connection's are not.
  const perConnection = RESET_BUDGET.burst - 50;
  const count = 6;
  const opened: HeldConnection[] = [];
  for (let i = 0; i < count; i++) {
    const c = holdOpen(port, burst(perConnection, SLOW, 'application/grpc'), operator);
    t.teardown(() => c.socket.destroy());
    await c.read;
    opened.push(c);
  }
  await waitFor(() => floods.length > 0 && opened.at(-1)!.goaway !== null, `connections ended for the certificate's resets (before: none, each within its own ${RESET_BUDGET.burst})`);
  t.same([...new Set(floods)], ['certificate'], 'each for its certificate');
  const first = opened.findIndex((c) => c.goaway !== null);
  // Two connections' resets (300) are within the certificate's 400: a third takes it past.
  t.ok(first >= Math.floor(CERTIFICATE_RESET_BUDGET.burst / perConnection), `the first ${first} connections (${perConnection} resets each) serve on`);
  await waitFor(() => opened.slice(first).every((c) => c.goaway !== null), 'every later connection hears its GOAWAY');
  t.same(new Set(opened.slice(first).map((c) => c.goaway)), new Set([http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]), 'from there on each connection that resets a young call is ended ENHANCE_YOUR_CALM (nothing refills on this clock)');
  t.same(opened.slice(0, first).map((c) => c.goaway), Array.from({ length: first }, () => null));
  const flooded = floods.length;
  const agent = holdOpen(port, burst(perConnection, SLOW, 'application/grpc'), certs.makeCert('ca', 'agent-1'));
  t.teardown(() => agent.socket.destroy());
  await agent.read;
  t.equal(floods.length, flooded, "another certificate's connection has its own budget");
  t.equal(agent.goaway, null);
});

interface HeldConnection {
  readonly socket: tls.TLSSocket;
  /** Resolves once the server acknowledged the write's closing PING (or ended the connection). */
  readonly read: Promise<void>;
  /** The GOAWAY's error code, once one came. */
  readonly goaway: number | null;
}

/** Writes `data` on a new mutual-TLS connection of `client`'s certificate and keeps it open. */
function holdOpen(port: number, data: Buffer, client: { ca: string; cert: string; key: string }): HeldConnection {
  let acked: () => void = () => undefined;
  const read = new Promise<void>((resolve) => (acked = resolve));
  let goaway: number | null = null;
  const socket = connectWriting(port, data, client, (sock, type, flags, payload) => {
    if (type === PING && (flags & 0x1) === 1) acked();
    if (type === GOAWAY) goaway ??= payload.readUInt32BE(4);
    if (type === SETTINGS && (flags & 0x1) === 0) sock.write(frame(SETTINGS, 0x1, 0, Buffer.alloc(0)));
  });
  socket.on('close', () => acked());
  return {
    socket,
    read,
    get goaway() {
      return goaway;
    },
  };
}
