/**
 * How a call ends when the server gives no gRPC status: a raw HTTP/2 server does what grpc-js's
 * server never does on its own (a reset, a half ended without trailers, a socket closed under a
 * call), and each ending must carry the code grpc-js's client gave for it (its subchannel call's
 * mapping), since the agent's log and failover read the code.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { H2Connection, INSECURE } from '../../src/transport/h2-stream/index.js';
import { collect, rawH2Server, type CallEnding } from '../helpers/h2-calls.js';
import { frameMessage } from '../../src/transport/h2-stream/message-framing.js';
import { status, type StatusCode } from '../../src/transport/h2-stream/status-codes.js';
import { NOT_HTTP2_DETAILS } from '../../src/transport/h2-stream/spoke-http2.js';

const C = http2.constants;
const text = { encode: (s: string) => Buffer.from(s), decode: (b: Buffer) => b.toString() };
const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

type Ending = CallEnding;

/** Opens a call, writes one message, and resolves with the messages and how the call ended. */
async function endingOf(t: Test, address: string): Promise<{ readonly messages: string[]; readonly ending: Ending }> {
  const connection = new H2Connection(address, INSECURE, 1024 * 1024);
  t.teardown(() => connection.close());
  const call = connection.open('/test.Chat/Talk', text);
  const { messages, ending: ended } = collect(call);
  call.write('hello');
  const ending = await ended;
  return { messages, ending };
}

const codeOf = (e: Ending): StatusCode | 'end' => (e.type === 'error' ? e.code : 'end');

void t.test('a server that resets the stream with CANCEL: CANCELLED, as grpc-js says', async (t) => {
  const address = await rawH2Server(t, (stream) => {
    stream.respond(GRPC_HEADERS);
    stream.write(frameMessage(Buffer.from('first')), () => stream.close(C.NGHTTP2_CANCEL));
  });
  const { messages, ending } = await endingOf(t, address);
  t.same(messages, ['first']);
  t.equal(codeOf(ending), status.CANCELLED, JSON.stringify(ending));
});

void t.test('a server that ends its half without a status: INTERNAL (grpc-js: "Call ended without gRPC status")', async (t) => {
  const address = await rawH2Server(t, (stream) => {
    stream.respond(GRPC_HEADERS);
    stream.end(frameMessage(Buffer.from('only')));
  });
  const { messages, ending } = await endingOf(t, address);
  t.same(messages, ['only']);
  t.same(ending, { type: 'error', code: status.INTERNAL, details: 'the server ended the call without a status' });
});

void t.test('a server that resets the stream with NO_ERROR before any status: INTERNAL', async (t) => {
  const address = await rawH2Server(t, (stream) => {
    stream.respond(GRPC_HEADERS);
    stream.write(frameMessage(Buffer.from('first')), () => stream.close(C.NGHTTP2_NO_ERROR));
  });
  const { ending } = await endingOf(t, address);
  t.equal(codeOf(ending), status.INTERNAL, JSON.stringify(ending));
});

void t.test('a stream that ends inside a message, without a status: INTERNAL', async (t) => {
  const address = await rawH2Server(t, (stream) => {
    stream.respond(GRPC_HEADERS);
    stream.end(frameMessage(Buffer.from('cut short')).subarray(0, 8));
  });
  const { messages, ending } = await endingOf(t, address);
  t.same(messages, []);
  t.equal(codeOf(ending), status.INTERNAL, JSON.stringify(ending));
});

void t.test('a refused stream is UNAVAILABLE; ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED; INADEQUATE_SECURITY is PERMISSION_DENIED', async (t) => {
  for (const [rst, code] of [
    [C.NGHTTP2_REFUSED_STREAM, status.UNAVAILABLE],
    [C.NGHTTP2_ENHANCE_YOUR_CALM, status.RESOURCE_EXHAUSTED],
    [C.NGHTTP2_INADEQUATE_SECURITY, status.PERMISSION_DENIED],
    [C.NGHTTP2_INTERNAL_ERROR, status.INTERNAL],
  ] as const) {
    const address = await rawH2Server(t, (stream) => stream.close(rst));
    const { ending } = await endingOf(t, address);
    t.equal(codeOf(ending), code, `RST_STREAM ${rst}: ${JSON.stringify(ending)}`);
  }
});

void t.test('a connection closed under an open call: UNAVAILABLE (grpc-js: "Connection dropped"), not CANCELLED', async (t) => {
  for (const how of ['destroy', 'end'] as const) {
    const address = await rawH2Server(t, (stream, sockets) => {
      stream.respond(GRPC_HEADERS);
      stream.write(frameMessage(Buffer.from('first')), () => {
        for (const s of sockets) {
          if (how === 'destroy') s.destroy();
          else s.end();
        }
      });
    });
    const { messages, ending } = await endingOf(t, address);
    t.same(messages, ['first'], how);
    t.same(ending, { type: 'error', code: status.UNAVAILABLE, details: 'the connection closed before the call had a status' }, how);
  }
});

void t.test('a connection accepted and closed before HTTP/2 begins: UNAVAILABLE', async (t) => {
  // Every connection is closed at once: a controller's port while it restarts.
  const closer = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => closer.close());
  const a = closer.address();
  if (a === null || typeof a === 'string') throw new Error('expected a TCP address');
  const { ending } = await endingOf(t, `127.0.0.1:${a.port}`);
  t.equal(codeOf(ending), status.UNAVAILABLE, JSON.stringify(ending));
});

void t.test('a server that answers in HTTP/1.1 (a metrics port): UNAVAILABLE, saying it is no gRPC server, not "Protocol error"', async (t) => {
  const server = http.createServer((_req, res) => res.end('# metrics\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { ending } = await endingOf(t, `127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  t.same(ending, { type: 'error', code: status.UNAVAILABLE, details: NOT_HTTP2_DETAILS });
});
