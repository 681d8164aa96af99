/**
 * The client side of a finite server stream (SnapshotSave): silence fails it after idleTimeoutMs,
 * except before the first message, which may take firstMessageTimeoutMs (the server serializes
 * the whole state first: a leader with 533,000 keys took more than ctl's 5 s).
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { operatorMethod, operatorServiceDefinition } from '../../src/api/operator-proto.js';
import { readServerStream } from '../../src/api/server-stream.js';
import type { StreamContext } from '../../src/api/stream-context.js';

/** What a test needs of tap's Test. */
interface Tap {
  teardown(fn: () => void): void;
}

const IDLE_MS = 200;
const header = { index: 7, term: 2, revision: 5, size: 3, cluster: 'x', takenBy: 'c1', version: '0', createdAt: '2026-12-03T00:00:00Z' };

/** A SnapshotSave that answers after `firstAfterMs` (a slow serialization), then sends `after` one by one. */
async function server(t: Tap, firstAfterMs: number, after: readonly object[]): Promise<string> {
  const srv = new grpc.Server();
  srv.addService(operatorServiceDefinition().service, {
    SnapshotSave: (call: grpc.ServerWritableStream<object, object>) => {
      setTimeout(() => {
        call.write({ header });
        for (const m of after) call.write(m);
        if (after.length > 0) call.end();
        // With nothing after the header, the stream stays open and silent until the client cancels.
      }, firstAfterMs);
    },
  });
  const port = await new Promise<number>((resolve, reject) => srv.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => srv.forceShutdown());
  return `127.0.0.1:${port}`;
}

function context(t: Tap, endpoint: string): StreamContext {
  const Client = operatorServiceDefinition();
  const channel = new Client(endpoint, grpc.credentials.createInsecure());
  t.teardown(() => channel.close());
  return { endpoint, channel, timeoutMs: 2000, streams: new Set(), closed: () => false };
}

async function read(ctx: StreamContext, firstMessageTimeoutMs?: number): Promise<unknown[]> {
  const got: unknown[] = [];
  await readServerStream(
    ctx,
    { method: operatorMethod('SnapshotSave'), request: {}, decode: (raw) => raw, idleTimeoutMs: IDLE_MS, ...(firstMessageTimeoutMs === undefined ? {} : { firstMessageTimeoutMs }), what: 'the snapshot' },
    (m) => got.push(m),
  );
  return got;
}

void t.test('a first message slower than the idle timeout is waited for when the stream allows it', async (t) => {
  const endpoint = await server(t, 3 * IDLE_MS, [{ data: Buffer.from('abc') }, { trailer: { sha256: 'x' } }]);
  const got = await read(context(t, endpoint), 10_000);
  t.equal(got.length, 3, 'header, data and trailer');
});

void t.test('without firstMessageTimeoutMs the same slow first message fails the stream', async (t) => {
  const endpoint = await server(t, 3 * IDLE_MS, [{ data: Buffer.from('abc') }, { trailer: { sha256: 'x' } }]);
  await t.rejects(read(context(t, endpoint)), { code: 'TIMEOUT', message: new RegExp(`sent nothing of the snapshot for ${IDLE_MS}ms`) });
});

void t.test('after the first message, silence fails the stream after the idle timeout, not the first message\'s', async (t) => {
  const endpoint = await server(t, 0, []);
  await t.rejects(read(context(t, endpoint), 10_000), { code: 'TIMEOUT', message: new RegExp(`sent nothing of the snapshot for ${IDLE_MS}ms`) });
});
