/**
 * Server streams that fail, on a real grpc-js server with the controller's first interceptors
 * (src/api/stream-writer.ts, src/transport/call-reset.ts): the client hears the status at once,
 * not at its own deadline; a status stuck behind unread messages is given up after a grace and
 * the stream reset; a client that reads nothing is cut off and the handler's write let go.
 */
import t, { type Test } from 'tap';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { ServiceFailure, toServiceError } from '../../src/api/service-error.js';
import { StreamClosedError, cutOff, failStream, writeWithBackpressure } from '../../src/api/stream-writer.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { oneMessageRequests } from '../../src/transport/unended-requests.js';
import { waitFor } from '../helpers/wait-for.js';

const bytes = (b: Buffer): Buffer => b;
const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/test.S/${name}`,
  requestStream: false,
  responseStream: true,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
const SERVICE: grpc.ServiceDefinition = { Refuse: method('Refuse'), FloodThenFail: method('FloodThenFail'), FloodThenCut: method('FloodThenCut') };
const GRACE_MS = 300;
const CHUNK = Buffer.alloc(64 * 1024, 1);
const CLOSE_DEADLINE_MS = 10_000;

interface Fixture {
  readonly port: number;
  /** What the flooding handler's waiting write came to: 'closed' (StreamClosedError) once cut off. */
  lastWrite: 'pending' | 'closed' | 'other';
  closed: number;
}

async function start(t: Test): Promise<Fixture> {
  const fixture: Fixture = { port: 0, lastWrite: 'pending', closed: 0 };
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined }), oneMessageRequests] });
  /** Writes until gRPC's buffer is full; resolves then, with that write still waiting for 'drain'. */
  const flood = async (call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> => {
    call.on('close', () => fixture.closed++);
    for (;;) {
      const write = writeWithBackpressure(call, CHUNK);
      if (!call.writableNeedDrain) {
        await write;
        continue;
      }
      write.then(
        () => (fixture.lastWrite = 'other'),
        (err: unknown) => (fixture.lastWrite = err instanceof StreamClosedError ? 'closed' : 'other'),
      );
      return;
    }
  };
  server.addService(SERVICE, {
    Refuse: (call: grpc.ServerWritableStream<Buffer, Buffer>) => failStream(call, toServiceError(new ServiceFailure('FAILED_PRECONDITION', 'busy: one at a time'))),
    FloodThenFail: (call: grpc.ServerWritableStream<Buffer, Buffer>) => void flood(call).then(() => failStream(call, toServiceError(new ServiceFailure('INTERNAL', 'fell behind')), GRACE_MS)),
    FloodThenCut: (call: grpc.ServerWritableStream<Buffer, Buffer>) => void flood(call).then(() => cutOff(call)),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return Object.assign(fixture, { port });
}

/** A raw HTTP/2 call whose client reads nothing: how its stream ended. */
function unreadCall(t: Test, port: number, path: string): Promise<{ readonly rstCode: number; readonly status: string | null }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.destroy());
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
  stream.pause();
  let status: string | null = null;
  stream.on('trailers', (h) => (status = typeof h['grpc-status'] === 'string' ? h['grpc-status'] : null));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stream of ${path} did not close within ${CLOSE_DEADLINE_MS} ms`)), CLOSE_DEADLINE_MS);
    stream.on('close', () => {
      clearTimeout(timer);
      resolve({ rstCode: stream.rstCode ?? -1, status });
    });
  });
}

void t.test('a stream refused before its first message: the client hears the status at once, not at its deadline', async (t) => {
  const fixture = await start(t);
  const client = new grpc.Client(`127.0.0.1:${fixture.port}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const deadlineMs = 20_000;
  const started = Date.now();
  const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
    const call = client.makeServerStreamRequest(SERVICE['Refuse']!.path, bytes, bytes, Buffer.alloc(0), { deadline: started + deadlineMs });
    call.on('data', () => reject(new Error('no message was expected')));
    call.on('error', resolve);
  });
  t.equal(err.code, grpc.status.FAILED_PRECONDITION);
  t.equal(err.details, 'busy: one at a time');
  t.equal(err.metadata.get('error-code')[0], 'FAILED_PRECONDITION', 'with the precise code');
  t.ok(Date.now() - started < deadlineMs / 2, `answered in ${Date.now() - started} ms, well before the ${deadlineMs} ms deadline`);
});

void t.test('a status behind messages the client does not read is given up after the grace, and the stream reset', async (t) => {
  const fixture = await start(t);
  const ended = await unreadCall(t, fixture.port, SERVICE['FloodThenFail']!.path);
  t.equal(ended.rstCode, http2.constants.NGHTTP2_CANCEL, 'reset by the server');
  t.equal(ended.status, null, 'no status could reach it');
  await waitFor(() => fixture.lastWrite !== 'pending', 'the waiting write to be let go');
  t.equal(fixture.lastWrite, 'closed', 'the handler hears the client went away');
  t.equal(fixture.closed, 1);
});

void t.test('a client that reads nothing is cut off: its stream reset and the waiting write let go', async (t) => {
  const fixture = await start(t);
  const ended = await unreadCall(t, fixture.port, SERVICE['FloodThenCut']!.path);
  t.equal(ended.rstCode, http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => fixture.lastWrite !== 'pending', 'the waiting write to be let go');
  t.equal(fixture.lastWrite, 'closed');
});
