/**
 * The agents' HTTP/2 connection (src/transport/h2-stream/h2-connection.ts) under load it must
 * carry as grpc-js's channel did: bytes waiting to be sent on one stream do not stop the others,
 * a connection that never becomes HTTP/2 is given up, and one left without calls is closed.
 */
import t, { type Test } from 'tap';
import http2 from 'node:http2';
import { H2Connection, INSECURE, type StreamCallError } from '../../src/transport/h2-stream/index.js';
import { frameMessage } from '../../src/transport/h2-stream/message-framing.js';
import { status } from '../../src/transport/h2-stream/status-codes.js';
import { CONNECT_DEADLINE_MS } from '../../src/transport/stuck-connect.js';
import { hungEndpoint } from '../helpers/hung-endpoint.js';
import { rawH2Server } from '../helpers/h2-calls.js';
import { waitFor } from '../helpers/wait-for.js';

const bytes = { encode: (b: Buffer) => b, decode: (b: Buffer) => b };

/** A gRPC-framed echo server, except that the streams `stalled` picks are never read (a busy or stuck handler). */
async function echoServer(t: Test, stalled: (index: number) => boolean): Promise<string> {
  let index = 0;
  return rawH2Server(t, (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    if (stalled(index++)) {
      stream.pause();
      return;
    }
    stream.on('data', () => stream.write(frameMessage(Buffer.from('ok'))));
  });
}

/** 'answered', or how the call ended without an answer. */
async function answer(connection: H2Connection): Promise<string> {
  const call = connection.open('/test.Chat/Talk', bytes);
  const outcome = await new Promise<string>((resolve) => {
    call.on('data', () => resolve('answered'));
    call.on('end', () => resolve('ended OK without an answer'));
    call.on('error', (e: StreamCallError) => resolve(`error ${e.code}: ${e.details}`));
    call.write(Buffer.from('ping'));
  });
  call.cancel();
  return outcome;
}

void t.test('70 MB waiting on one stream the server does not read: the connection still carries new calls', async (t) => {
  const address = await echoServer(t, (i) => i === 0);
  const connection = new H2Connection(address, INSECURE, 1024 * 1024);
  t.teardown(() => connection.close());
  const stuck = connection.open('/test.Chat/Talk', bytes);
  const stuckEnded: string[] = [];
  stuck.on('error', (e: StreamCallError) => stuckEnded.push(`error ${e.code}: ${e.details}`));
  stuck.on('end', () => stuckEnded.push('end'));
  const mb = Buffer.alloc(1024 * 1024, 1);
  for (let i = 0; i < 70; i++) stuck.write(mb);
  // Answered at once on a healthy connection; before, every call after the 64 MB
  // maxSessionMemory was reached was reset ENHANCE_YOUR_CALM, for as long as the connection lived.
  for (let i = 0; i < 3; i++) t.equal(await answer(connection), 'answered', `call ${i + 1} after the stuck stream`);
  t.same(stuckEnded, [], 'the stream with bytes waiting is not reset by this side');
  stuck.cancel();
});

void t.test('a server that accepts the connection and never speaks HTTP/2 is given up at the connect deadline', async (t) => {
  // TCP is up at once (a paused process's backlog, a proxy whose backend is gone): grpc-js's
  // channel stayed CONNECTING until the server's SETTINGS, and was given up at the deadline.
  const address = await hungEndpoint(t);
  const connection = new H2Connection(address, INSECURE, 1024);
  t.teardown(() => connection.close());
  const call = connection.open('/test.Chat/Talk', bytes);
  const outcome = await new Promise<string>((resolve) => {
    call.on('data', () => resolve('answered'));
    call.on('end', () => resolve('ended OK'));
    call.on('error', (e: StreamCallError) => resolve(`error ${e.code}: ${e.details}`));
    call.write(Buffer.from('ping'));
    // Twice the deadline: the call must have ended by then.
    setTimeout(() => resolve('no outcome'), 2 * CONNECT_DEADLINE_MS).unref();
  });
  t.equal(outcome, `error ${status.UNAVAILABLE}: no connection to ${address} within ${CONNECT_DEADLINE_MS}ms`);
});

void t.test('a connection without a call is closed once idle, and the next call dials again', async (t) => {
  const idleMs = 300;
  // Answers each message at once and again three idle periods later; counts its connections.
  const sessions = { opened: 0, closed: 0 };
  const server = http2.createServer();
  server.on('session', (s) => {
    sessions.opened += 1;
    s.on('close', () => (sessions.closed += 1));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    stream.on('data', () => {
      stream.write(frameMessage(Buffer.from('now')));
      setTimeout(() => stream.destroyed || stream.write(frameMessage(Buffer.from('later'))), 3 * idleMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('expected a TCP address');
  const connection = new H2Connection(`127.0.0.1:${a.port}`, INSECURE, 1024, idleMs);
  t.teardown(() => connection.close());

  const call = connection.open('/test.Chat/Talk', bytes);
  const received: string[] = [];
  call.on('data', (m) => received.push(m.toString()));
  call.write(Buffer.from('ping'));
  await waitFor(() => received.length === 2, 'the answer three idle periods later, on the open call', 5_000);
  t.equal(sessions.closed, 0, 'not closed while a call is open');
  call.cancel();
  await waitFor(() => sessions.closed === 1, 'the idle connection closed', 5_000);
  t.equal(sessions.opened, 1);
  t.equal(await answer(connection), 'answered', 'a later call dials a new connection');
  t.equal(sessions.opened, 2);
});
