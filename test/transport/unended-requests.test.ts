/**
 * Requests whose client never half-closes (src/transport/unended-requests.ts, wired in
 * base-call-guard.ts): the handler starts at the request's message, the stream is reset with
 * NO_ERROR after its status, and the request is let go, not held until the client disconnects.
 */
import t, { type Test } from 'tap';
import * as http2 from 'node:http2';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { oneMessageRequests } from '../../src/transport/unended-requests.js';
import { waitFor } from '../helpers/wait-for.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const bytes = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  Echo: { path: '/test.T/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
  Count: { path: '/test.T/Count', requestStream: false, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
  Chat: { path: '/test.T/Chat', requestStream: true, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
};
/** The server's limit on one request message. */
const MAX_RECEIVE = 2 * 1024 * 1024;

interface Fixture {
  readonly port: number;
  handled: number;
  resets: number;
  /** Requests the handlers saw and the collector has not yet freed. */
  readonly live: Set<string>;
}

async function start(t: Test): Promise<Fixture> {
  const fixture: Fixture = { port: 0, handled: 0, resets: 0, live: new Set() };
  const freed = new FinalizationRegistry<string>((id) => fixture.live.delete(id));
  const seen = (request: Buffer): void => {
    const id = `request-${++fixture.handled}`;
    fixture.live.add(id);
    freed.register(request, id);
  };
  const guard = baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => fixture.resets++ });
  const server = new grpc.Server({ interceptors: [guard, oneMessageRequests], 'grpc.max_receive_message_length': MAX_RECEIVE });
  server.addService(SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      seen(call.request);
      cb(null, Buffer.from(`got ${call.request.length}`));
    },
    Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      seen(call.request);
      for (let i = 1; i <= 3; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (m: Buffer) => call.write(Buffer.from(`got ${m.length}`)));
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return Object.assign(fixture, { port });
}

const framed = (payload: Buffer): Buffer => {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
};

interface Outcome {
  readonly status: string | null;
  readonly messages: string[];
  readonly rstCode: number;
}

const CLOSE_DEADLINE_MS = 10_000;

/** A raw HTTP/2 request that sends `body` and, unless `end`, never ends its side. */
function rawCall(session: http2.ClientHttp2Session, path: string, body: Buffer, end: boolean): { stream: http2.ClientHttp2Stream; outcome: Promise<Outcome> } {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  if (end) stream.end(body);
  else stream.write(body);
  let status: string | null = null;
  let data = Buffer.alloc(0);
  const statusOf = (headers: http2.IncomingHttpHeaders): void => {
    const value = headers['grpc-status'];
    if (typeof value === 'string') status = value;
  };
  stream.on('response', statusOf);
  stream.on('trailers', statusOf);
  stream.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
  const outcome = new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stream of ${path} did not close within ${CLOSE_DEADLINE_MS} ms`)), CLOSE_DEADLINE_MS);
    stream.on('close', () => {
      clearTimeout(timer);
      const messages: string[] = [];
      for (let at = 0; at + 5 <= data.length; ) {
        const length = data.readUInt32BE(at + 1);
        messages.push(data.subarray(at + 5, at + 5 + length).toString());
        at += 5 + length;
      }
      resolve({ status, messages, rstCode: stream.rstCode ?? -1 });
    });
  });
  return { stream, outcome };
}

function connect(t: Test, port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.destroy());
  return session;
}

async function letGo(fixture: Fixture, what: string): Promise<void> {
  await waitFor(() => {
    collectGarbage();
    return fixture.live.size === 0;
  }, what);
}

void t.test('a unary request that never half-closes is answered at its message, its stream reset NO_ERROR, and the request let go', async (t) => {
  const fixture = await start(t);
  const session = connect(t, fixture.port);
  const calls = Array.from({ length: 8 }, () => rawCall(session, '/test.T/Echo', framed(Buffer.alloc(1024 * 1024, 7)), false));
  const outcomes = await Promise.all(calls.map((c) => c.outcome));
  for (const outcome of outcomes) {
    t.equal(outcome.status, '0', 'the client has its OK status');
    t.same(outcome.messages, [`got ${1024 * 1024}`]);
    t.equal(outcome.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'then the server reset the stream, without error');
  }
  t.equal(fixture.handled, 8);
  t.equal(fixture.resets, 8, 'each reset counted');
  t.equal(session.closed || session.destroyed, false, 'the connection stays up');
  await letGo(fixture, 'the requests to be collected while the connection stays open');
});

void t.test('a server-streaming request that never half-closes gets its messages and status, then a reset', async (t) => {
  const fixture = await start(t);
  const session = connect(t, fixture.port);
  const outcome = await rawCall(session, '/test.T/Count', framed(Buffer.from('go')), false).outcome;
  t.equal(outcome.status, '0');
  t.same(outcome.messages, ['1', '2', '3']);
  t.equal(outcome.rstCode, http2.constants.NGHTTP2_NO_ERROR);
  t.equal(fixture.resets, 1);
  await letGo(fixture, 'the request to be collected');
});

void t.test('a streaming call refused for a message past the limit, after it has answered, has its status before the reset', async (t) => {
  const fixture = await start(t);
  const session = connect(t, fixture.port);
  const { stream, outcome } = rawCall(session, '/test.T/Chat', framed(Buffer.from('hi')), false);
  await new Promise((resolve) => stream.once('data', resolve));
  // Past the limit and over several DATA frames: grpc-js refuses it at the first and again at the next, before its status has gone.
  stream.write(framed(Buffer.alloc(MAX_RECEIVE + 1, 1)));
  const ended = await outcome;
  t.equal(ended.status, String(grpc.status.RESOURCE_EXHAUSTED), 'the client has its RESOURCE_EXHAUSTED status');
  t.same(ended.messages, ['got 2'], 'after the first message\'s answer');
  t.equal(ended.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'then the server reset the stream, without error');
  t.equal(fixture.resets, 1);
});

void t.test('requests that end as clients end them are served as before, and a reset never costs a client its status', async (t) => {
  const fixture = await start(t);
  const session = connect(t, fixture.port);
  const raw = await rawCall(session, '/test.T/Echo', framed(Buffer.from('hi')), true).outcome;
  t.equal(raw.status, '0');
  t.same(raw.messages, ['got 2']);

  const client = new grpc.Client(`127.0.0.1:${fixture.port}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const unary = (n: number): Promise<string> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(SERVICE['Echo']!.path, bytes, bytes, Buffer.alloc(n), { deadline: Date.now() + 10_000 }, (err, value) => (err ? reject(err) : resolve(value!.toString()))),
    );
  const streamed = (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const got: string[] = [];
      const call = client.makeServerStreamRequest(SERVICE['Count']!.path, bytes, bytes, Buffer.from('go'), { deadline: Date.now() + 10_000 });
      call.on('data', (m: Buffer) => got.push(m.toString()));
      call.on('error', reject);
      call.on('end', () => resolve(got));
    });
  const sizes = Array.from({ length: 200 }, (_, i) => (i * 977) % 65_536);
  t.same(await Promise.all(sizes.map(unary)), sizes.map((n) => `got ${n}`), '200 concurrent unary calls, each answered OK');
  const lists = await Promise.all(Array.from({ length: 40 }, streamed));
  t.same(lists, Array.from({ length: 40 }, () => ['1', '2', '3']), '40 concurrent server streams, each complete and OK');
});

void t.test('a request cancelled before its message is complete reaches no handler and is not counted as reset', async (t) => {
  const fixture = await start(t);
  const session = connect(t, fixture.port);
  const whole = framed(Buffer.alloc(64 * 1024));
  const { stream, outcome } = rawCall(session, '/test.T/Echo', whole.subarray(0, 1000), false);
  await waitFor(() => stream.id !== undefined && stream.sentHeaders !== undefined, 'the request to be sent');
  stream.close(http2.constants.NGHTTP2_CANCEL);
  const ended = await outcome;
  t.equal(ended.rstCode, http2.constants.NGHTTP2_CANCEL);
  // The server's side of the cancel: another call on the connection is answered, which orders it after the reset.
  const after = await rawCall(session, '/test.T/Echo', framed(Buffer.from('x')), true).outcome;
  t.equal(after.status, '0');
  t.equal(fixture.handled, 1, 'only the complete request reached a handler');
  t.equal(fixture.resets, 0);
});

void t.test('a streaming request is handed on without a wrapper of its own; a one-message request gets one', (t) => {
  // What the interceptor before it (the guard, as the servers wire it) hands on.
  const inner = new grpc.ServerInterceptingCall({} as grpc.ServerInterceptingCallInterface);
  const method = (requestStream: boolean): grpc.ServerMethodDefinition<Buffer, Buffer> => ({ path: '/test.T/M', requestStream, responseStream: true, requestDeserialize: bytes, responseSerialize: bytes });
  // A wrapper that passes everything through held about 0.5 KB per open stream.
  t.equal(oneMessageRequests(method(true), inner), inner, 'the streaming call itself');
  t.not(oneMessageRequests(method(false), inner), inner, 'a server-streaming call is wrapped (it starts at its one message)');
  t.end();
});
