/** Test servers and outcome collectors for the agents' gRPC stream client (src/transport/h2-stream). */
import http2 from 'node:http2';
import type net from 'node:net';
import type { Test } from 'tap';
import type { BidiCall, StreamCallError } from '../../src/transport/h2-stream/index.js';
import type { StatusCode } from '../../src/transport/h2-stream/status-codes.js';

/** How a call ended: OK, or a status with its message. */
export type CallEnding = { readonly type: 'end' } | { readonly type: 'error'; readonly code: StatusCode; readonly details: string };

/** Every message `call` delivers, and how it ends. */
export function collect<Req, Res>(call: BidiCall<Req, Res>): { readonly messages: Res[]; readonly ending: Promise<CallEnding> } {
  const messages: Res[] = [];
  call.on('data', (m) => messages.push(m));
  const ending = new Promise<CallEnding>((resolve) => {
    call.on('end', () => resolve({ type: 'end' }));
    call.on('error', (e: StreamCallError) => resolve({ type: 'error', code: e.code, details: e.details }));
  });
  return { messages, ending };
}

/**
 * A plain HTTP/2 server on a free loopback port that hands each stream to `act` (with the
 * connections it accepted, for a test that cuts them); torn down with the test. Resolves with its `host:port`.
 */
export async function rawH2Server(t: Test, act: (stream: http2.ServerHttp2Stream, sockets: net.Socket[]) => void): Promise<string> {
  const sockets: net.Socket[] = [];
  const server = http2.createServer();
  server.on('connection', (s: net.Socket) => sockets.push(s));
  server.on('session', (s) => s.on('error', () => undefined));
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    act(stream, sockets);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error(`expected a TCP address, found ${String(a)}`);
  return `127.0.0.1:${a.port}`;
}
