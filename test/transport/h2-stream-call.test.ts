/**
 * The agents' gRPC stream client (src/transport/h2-stream) against grpc-js's server: messages both
 * ways, and every way a call ends as the agent must tell them apart (OK, a status with its
 * message, a reset, a refused or lost connection, an answer it cannot read, its own cancel).
 */
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import tls from 'node:tls';
import { H2Connection, INSECURE } from '../../src/transport/h2-stream/index.js';
import { hungEndpoint } from '../helpers/hung-endpoint.js';
import { describeExpired, HANDSHAKE_DEADLINE_MS } from '../../src/transport/connect-deadline.js';
import { waitFor } from '../helpers/wait-for.js';
import { collect } from '../helpers/h2-calls.js';

const bytes = (b: Buffer): Buffer => b;
const PATH = '/test.Chat/Talk';
type Handler = (call: grpc.ServerDuplexStream<Buffer, Buffer>) => void;
const text = { encode: (s: string) => Buffer.from(s), decode: (b: Buffer) => b.toString() };

async function serve(t: Test, handler: Handler): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  server.addService({ Talk: { path: PATH, requestStream: true, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } }, { Talk: handler });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return { server, address: `127.0.0.1:${port}` };
}

function connect(t: Test, address: string): H2Connection {
  const c = new H2Connection(address, INSECURE, 1024 * 1024);
  t.teardown(() => c.close());
  return c;
}

void t.test('messages go both ways in order, and an OK status ends the call', async (t) => {
  const { address } = await serve(t, (call) => {
    let n = 0;
    call.on('data', (m: Buffer) => {
      call.write(Buffer.from(`echo ${m.toString()}`));
      if (++n === 3) call.end();
    });
  });
  const call = connect(t, address).open(PATH, text);
  const { messages, ending: outcome } = collect(call);
  for (const m of ['a', 'b', 'c']) call.write(m);
  t.same(await outcome, { type: 'end' });
  t.same(messages, ['echo a', 'echo b', 'echo c']);
});

void t.test("a server's status comes with its code and its message, decoded", async (t) => {
  const { address } = await serve(t, (call) => {
    call.on('data', () => {
      call.write(Buffer.from('first'));
      call.emit('error', { code: grpc.status.ABORTED, details: 'taken over by a newer stream: agent ä/1 100%' });
    });
  });
  const call = connect(t, address).open(PATH, text);
  const { messages, ending: outcome } = collect(call);
  call.write('hello');
  t.same(await outcome, { type: 'error', code: grpc.status.ABORTED, details: 'taken over by a newer stream: agent ä/1 100%' });
  t.same(messages, ['first'], 'the message before the status is delivered first');
});

void t.test('a status given at once (Trailers-Only) ends the call with it', async (t) => {
  const { address } = await serve(t, (call) => call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'not an agent certificate' }));
  const { ending: outcome } = collect(connect(t, address).open(PATH, text));
  t.same(await outcome, { type: 'error', code: grpc.status.PERMISSION_DENIED, details: 'not an agent certificate' });
});

void t.test('an unknown method is UNIMPLEMENTED', async (t) => {
  const { address } = await serve(t, () => undefined);
  const { ending: outcome } = collect(connect(t, address).open('/test.Chat/Nothing', text));
  const o = await outcome;
  t.equal(o.type === 'error' ? o.code : null, grpc.status.UNIMPLEMENTED);
});

void t.test('a refused connection is UNAVAILABLE, and the next call dials again', async (t) => {
  const { server, address } = await serve(t, (call) => call.on('data', (m: Buffer) => call.write(m)));
  const port = Number(address.split(':')[1]);
  server.forceShutdown();
  const connection = connect(t, address);
  const refused = await collect(connection.open(PATH, text)).ending;
  t.equal(refused.type === 'error' ? refused.code : null, grpc.status.UNAVAILABLE);
  t.match(refused.type === 'error' ? refused.details : '', /ECONNREFUSED/);
  // A server back on the same port: the same connection object reaches it.
  const again = new grpc.Server();
  again.addService({ Talk: { path: PATH, requestStream: true, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } }, { Talk: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.on('data', (m: Buffer) => call.write(m)) });
  await new Promise<void>((resolve, reject) => again.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  t.teardown(() => again.forceShutdown());
  const call = connection.open(PATH, text);
  const { messages } = collect(call);
  call.write('back');
  await waitFor(() => messages.length === 1, 'the echo from the new server', 5_000);
  t.same(messages, ['back']);
  call.cancel();
});

void t.test('a connection lost mid-call ends the call UNAVAILABLE', async (t) => {
  const { server, address } = await serve(t, (call) => call.on('data', (m: Buffer) => call.write(m)));
  const call = connect(t, address).open(PATH, text);
  const { messages, ending: outcome } = collect(call);
  call.write('one');
  await waitFor(() => messages.length === 1, 'the first echo', 5_000);
  server.forceShutdown();
  const o = await outcome;
  t.equal(o.type === 'error' ? o.code : null, grpc.status.UNAVAILABLE, o.type === 'error' ? o.details : 'ended OK');
});

void t.test('an answer that does not decode ends the call INTERNAL, and the stream is reset', async (t) => {
  let serverSawCancel = false;
  const { address } = await serve(t, (call) => {
    call.on('cancelled', () => (serverSawCancel = true));
    call.on('data', () => call.write(Buffer.from('garbage')));
  });
  const strict = {
    encode: (s: string) => Buffer.from(s),
    decode: (b: Buffer): string => {
      throw new Error(`not a message: ${b.length} bytes`);
    },
  };
  const call = connect(t, address).open(PATH, strict);
  const { ending: outcome } = collect(call);
  call.write('hello');
  t.same(await outcome, { type: 'error', code: grpc.status.INTERNAL, details: 'a message that does not decode: not a message: 7 bytes' });
  await waitFor(() => serverSawCancel, 'the server to see the reset', 5_000);
  t.ok(serverSawCancel);
});

void t.test('after cancel nothing more is delivered, and the server sees the call cancelled', async (t) => {
  let serverSawCancel = false;
  const { address } = await serve(t, (call) => {
    call.on('cancelled', () => (serverSawCancel = true));
    call.on('data', () => {
      call.write(Buffer.from('one'));
      setImmediate(() => call.write(Buffer.from('two')));
    });
  });
  const call = connect(t, address).open(PATH, text);
  const events: string[] = [];
  call.on('data', (m) => {
    events.push(m);
    call.cancel();
  });
  call.on('end', () => events.push('end'));
  call.on('error', (e) => events.push(`error ${e.code}`));
  call.write('go');
  await waitFor(() => serverSawCancel, 'the server to see the cancel', 5_000);
  t.same(events, ['one']);
});

void t.test('a TLS endpoint that never finishes the handshake is given up at the handshake deadline', async (t) => {
  // Its TCP connection is up, so the attempt is waited for as a slow handshake (connect-deadline.ts).
  const address = await hungEndpoint(t);
  const connection = new H2Connection(address, { kind: 'tls', context: tls.createSecureContext({}) }, 1024);
  t.teardown(() => connection.close());
  const o = await collect(connection.open(PATH, text)).ending;
  t.same(o, { type: 'error', code: grpc.status.UNAVAILABLE, details: describeExpired(address, { afterMs: HANDSHAKE_DEADLINE_MS, tcpConnected: true }) });
});
