/**
 * An AgentSync stream's messages written straight to its HTTP/2 stream (src/agents/hub-frames.ts)
 * against the same messages written through grpc-js's `call.write`: the same response headers,
 * the same bytes of data, the same trailers, and a call ended before any message still ends
 * Trailers-Only. Read by a raw HTTP/2 client, so nothing between the wire and the test decodes.
 */
import t from 'tap';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { frameSinkOf } from '../../src/agents/hub-frames.js';
import { grpcFramed } from '../../src/transport/message-frames.js';
import { AGENT_SYNC_SERVICE, SYNC_METHOD, encodePushShared, withNonce, type ControllerFrame } from '../../src/agents/sync-codec.js';
import { encodeControllerFrame } from '../../src/agents/wire.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { freePorts } from '../helpers/free-ports.js';

type Way = 'grpc-js' | 'direct';

/** What each call writes, by the `x-case` header of its request. */
const FRAMES: Readonly<Record<string, readonly ControllerFrame[]>> = {
  messages: [
    encodeControllerFrame({ type: 'ping', seq: 7, timeoutMs: 2050 }),
    withNonce(encodePushShared(pushWire()), 41),
    withNonce(encodePushShared(pushWire()), 300),
    encodeControllerFrame({ type: 'ping', seq: 8, timeoutMs: 2050 }),
  ],
  none: [],
};

function pushWire(): Parameters<typeof encodePushShared>[0] {
  return {
    type: 'CONTROLLER_MESSAGE_PUSH',
    controller: 'c1',
    clusterId: 'k',
    session: '',
    pingIntervalMs: 0,
    timeoutMs: 0,
    nonce: 0,
    version: 12,
    full: true,
    baseVersion: 0,
    body: Buffer.from(JSON.stringify({ services: [{ name: 'web', port: 80 }] }).repeat(40)),
    seq: 0,
    parts: 0,
    clusterName: '',
  };
}

interface Seen {
  readonly headers: Record<string, unknown>;
  readonly data: Buffer;
  readonly trailers: Record<string, unknown> | null;
}

async function serve(way: Way): Promise<{ port: number; stop: () => void; viaWrite: () => number }> {
  let viaWrite = 0;
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined })] });
  server.addService(AGENT_SYNC_SERVICE, {
    Sync: (call: grpc.ServerDuplexStream<unknown, ControllerFrame>) => {
      const frames = FRAMES[String(call.metadata.get('x-case')[0])] ?? [];
      const write = call.write.bind(call);
      call.write = ((f: ControllerFrame, taken?: () => void) => {
        viaWrite++;
        return write(f, taken);
      }) as typeof call.write;
      const sink = way === 'direct' ? frameSinkOf(call) : (f: ControllerFrame, taken: () => void) => void call.write(f, taken);
      let left = frames.length;
      const done = (): void => {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'done here; try another controller' });
      };
      if (left === 0) done();
      for (const f of frames) {
        sink(f, () => {
          if (--left === 0) done();
        });
      }
    },
  });
  const [port] = await freePorts(1);
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return { port: port!, stop: () => server.forceShutdown(), viaWrite: () => viaWrite };
}

/** One call as a raw HTTP/2 client sees it; the `date` header left out (it moves with the clock). */
async function call(port: number, kase: string): Promise<Seen> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const stream = session.request({ ':method': 'POST', ':path': SYNC_METHOD.path, 'content-type': 'application/grpc', te: 'trailers', 'x-case': kase });
    stream.end();
    return await new Promise<Seen>((resolve, reject) => {
      let headers: Record<string, unknown> = {};
      let trailers: Record<string, unknown> | null = null;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        const { date: _date, ...rest } = h;
        headers = rest;
      });
      stream.on('trailers', (h) => {
        trailers = { ...h };
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('close', () => resolve({ headers, data: Buffer.concat(chunks), trailers }));
    });
  } finally {
    session.close();
  }
}

void t.test('written directly, a stream carries the same headers, bytes and trailers as through grpc-js', async (t) => {
  const seen: Record<Way, Record<string, Seen>> = { 'grpc-js': {}, direct: {} };
  for (const way of ['grpc-js', 'direct'] as const) {
    const server = await serve(way);
    t.teardown(server.stop);
    for (const kase of Object.keys(FRAMES)) seen[way][kase] = await call(server.port, kase);
    t.equal(server.viaWrite(), way === 'direct' ? 0 : FRAMES.messages!.length, `${way}: ${way === 'direct' ? 'nothing' : 'every message'} through call.write`);
  }
  const expected = Buffer.concat(FRAMES.messages!.map((f) => grpcFramed(SYNC_METHOD.responseSerialize(f))));
  t.ok(seen.direct.messages!.data.equals(expected), 'the data: each message behind its prefix, in order');
  t.ok(seen.direct.messages!.data.equals(seen['grpc-js'].messages!.data), 'the same bytes as grpc-js writes');
  t.same(seen.direct.messages!.headers, seen['grpc-js'].messages!.headers, 'the same response headers');
  t.same(seen.direct.messages!.trailers, seen['grpc-js'].messages!.trailers, 'the same trailers');
  t.match(seen.direct.messages!.trailers, { 'grpc-status': '14' });
  t.same(seen.direct.none, seen['grpc-js'].none, 'a call ended before any message: the same');
  t.equal(seen.direct.none!.trailers, null, 'Trailers-Only: the status in the response headers');
  t.match(seen.direct.none!.headers, { 'grpc-status': '14' });
});

void t.test('a call without a filed stream (no guard on the server, a test call) is written through call.write', async (t) => {
  const written: ControllerFrame[] = [];
  const sink = frameSinkOf({ write: (f) => written.push(f) > 0 });
  sink(encodeControllerFrame({ type: 'ping', seq: 1, timeoutMs: 10 }), () => undefined);
  t.equal(written.length, 1);
});
