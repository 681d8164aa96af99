/**
 * Every RPC that takes a key refuses one over the 1,024-byte limit with INVALID_ARGUMENT naming
 * it, as Put always did; an error that echoes a key or other client input quotes only its start.
 * Before, a Get of a 100 kB key answered NOT_FOUND with the whole key in the details, a trailer
 * too large to deliver: the client waited out its deadline.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { errorCodeOf, serviceError } from '../../src/api/errors.js';
import { kvOps } from '../../src/api/kv-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { OperatorClient } from '../../src/api/operator-client.js';
import { operatorService } from '../../src/api/operator-service.js';
import { quoteKey, shortened } from '../../src/api/request-key.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { unaryHandler } from '../../src/api/unary-handler.js';
import { watchHandler } from '../../src/api/watch-handler.js';
import { WatchLimits } from '../../src/api/watch-limits.js';
import type { WatchSource } from '../../src/api/watch-source.js';
import { apiFailure, startFake } from '../cli/fake-controller.js';
import { FakeConsensus } from './fake-consensus.js';
import { MAX_ERROR_MESSAGE_BYTES } from '../../src/util/error-message.js';

const LONG = 'k'.repeat(100_000);
const soon = (): number => Date.now() + 2000;

function setup() {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'] });
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding here')) } });
  return { port, kv: kvOps(port, port.sm, onLeader) };
}

const refusal = { name: 'ServiceFailure', code: 'INVALID_ARGUMENT', message: 'field "key" must be at most 1024 bytes, found 100000' };

void t.test('get, put and delete refuse a key over 1,024 bytes with INVALID_ARGUMENT naming the limit', async (t) => {
  const { kv, port } = setup();
  t.match(await kv.get({ key: LONG, serializable: true }, soon()).catch((e: unknown) => e), refusal, 'get');
  t.match(await kv.get({ key: LONG, serializable: false }, soon()).catch((e: unknown) => e), refusal, 'linearizable get: before the barrier');
  const client = { id: 'cl', seq: 1 };
  t.match(await kv.put({ key: LONG, value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, client, forwarded: false }, soon()).catch((e: unknown) => e), refusal, 'put');
  t.match(await kv.delete({ key: LONG, hasIfRevision: false, ifRevision: 0, client, forwarded: false }, soon()).catch((e: unknown) => e), refusal, 'delete');
  t.equal(port.proposals.length, 0, 'nothing proposed');
  t.equal(port.readBarriers, 0, 'no read barrier for a refused key');
});

void t.test('NOT_FOUND quotes the first 64 characters of a long key and its size', async (t) => {
  const { kv } = setup();
  const key = `${'a'.repeat(64)}${'b'.repeat(936)}`;
  const err = await kv.get({ key, serializable: true }, soon()).catch((e: unknown) => e);
  t.match(err, { code: 'NOT_FOUND', message: `key "${'a'.repeat(64)}"…(1000 bytes) not found` });
  t.match(await kv.get({ key: 'short', serializable: true }, soon()).catch((e: unknown) => e), { message: 'key "short" not found' });
});

void t.test('Range refuses a prefix over 1,024 bytes; Watch a key over it', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'] });
  const watches: WatchSource = { subscribe: () => ({ ok: true, cancel: () => undefined }) } as unknown as WatchSource;
  const service = operatorService({
    id: 'c1', clusterName: 'x', clusterId: () => null, version: '0', host: port, stateMachine: port.sm,
    staleness: () => ({ stale: false, reason: '' }), duplicate: () => false, dbSizeBytes: () => Promise.resolve(0), watches, watchLimits: new WatchLimits(), defaultTimeoutMs: 1000,
  });
  const range = service['Range'] as grpc.handleUnaryCall<object, object>;
  const answer = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = { request: { prefix: LONG, limit: 0, serializable: true }, getDeadline: () => Date.now() + 1000 } as unknown as grpc.ServerUnaryCall<object, object>;
    range(call, (err) => resolve(err as grpc.ServiceError | null));
  });
  t.match(answer, { code: grpc.status.INVALID_ARGUMENT, details: 'field "prefix" must be at most 1024 bytes, found 100000' });
  const failed = await new Promise<unknown>((resolve) => {
    const call = Object.assign(new EventEmitter(), { request: { key: LONG, prefix: false, startRevision: 0 }, cancelled: false, destroyed: false, writableEnded: false, writableFinished: true });
    call.once('error', resolve); // grpc-js ends a server stream with the status of its 'error' event
    watchHandler(watches)(call as unknown as grpc.ServerWritableStream<never, never>);
  });
  t.match(failed, { code: grpc.status.INVALID_ARGUMENT, details: 'field "key" must be at most 1024 bytes, found 100000' });
});

void t.test('the client refuses a long key or prefix, or one that is not Unicode text, before sending it', async (t) => {
  const f = await startFake({ unary: { Get: () => ({ key: 'k', value: Buffer.from('v'), revision: 1 }) } });
  const client = new ControllerClient({ endpoints: [f.address], timeoutMs: 2000 });
  t.teardown(async () => {
    client.close();
    await f.stop();
  });
  const problem = { code: 'INVALID_ARGUMENT', message: 'field "key" must be at most 1024 bytes, found 100000' };
  t.match(await client.get(LONG).catch((e: unknown) => e), problem);
  t.match(await client.delete(LONG).catch((e: unknown) => e), problem);
  t.match(await client.put(LONG, 'v').catch((e: unknown) => e), problem);
  const operator = new OperatorClient(client);
  t.match(await operator.range(LONG).catch((e: unknown) => e), { code: 'INVALID_ARGUMENT', message: /field "prefix" must be at most 1024 bytes/ });
  t.match(await operator.watch({ key: LONG, prefix: false, startRevision: 0 }, () => undefined).catch((e: unknown) => e), problem);
  // Half a surrogate pair would travel as U+FFFD: 'a\uD800' and 'a\uDBFF' would be one key.
  const lone = { code: 'INVALID_ARGUMENT', message: 'field "key" holds a lone surrogate (U+D800) at index 1: not Unicode text, it would be stored as U+FFFD' };
  t.match(await client.put('a\uD800', 'v').catch((e: unknown) => e), lone);
  t.match(await client.get('a\uD800').catch((e: unknown) => e), lone);
  t.match(await client.delete('\uDC00b').catch((e: unknown) => e), { code: 'INVALID_ARGUMENT', message: /lone surrogate \(U\+DC00\) at index 0/ });
  t.match(await operator.range('p\uDBFF').catch((e: unknown) => e), { code: 'INVALID_ARGUMENT', message: /field "prefix" holds a lone surrogate \(U\+DBFF\) at index 1/ });
  t.equal(f.calls.length, 0, 'nothing sent');
  t.same(await client.get('😀').then((r) => r.key), 'k', 'a whole surrogate pair is text, and is sent');
});

void t.test('failure details are capped, so a long one still reaches the client at once', async (t) => {
  t.ok(Buffer.byteLength(serviceError('NOT_FOUND', LONG).details ?? '') <= MAX_ERROR_MESSAGE_BYTES);
  t.equal(serviceError('NOT_FOUND', 'short').details, 'short');
  const f = await startFake({ session: false, unary: { Get: () => { throw apiFailure('NOT_FOUND', LONG); } } });
  const client = new ControllerClient({ endpoints: [f.address], timeoutMs: 5000 });
  t.teardown(async () => {
    client.close();
    await f.stop();
  });
  const started = Date.now();
  const err = await client.get('a').catch((e: unknown) => e);
  t.match(err, { code: 'NOT_FOUND', message: /^k+…\(100000 bytes\)$/ });
  t.ok(Date.now() - started < 4000, 'answered, not waited out');
});

/**
 * Through the unary calls' one exit (unaryHandler, toServiceError): an error echoing a long name
 * comes back cut to 1,024 bytes with its size told. Before, details were cut at 4,096 UTF-16 code
 * units: a cut through a surrogate pair left half of it, grpc-js's encodeURI threw out of the
 * answer's callback and the controller process exited (an unhandled rejection).
 */
void t.test('a unary error echoing a long name comes back cut on a character boundary, its size told', async (t) => {
  const name = 'n'.repeat(4095 - 'service '.length) + '😀'.repeat(50);
  const method = { path: '/left.Echo/Fail', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  const server = new grpc.Server();
  server.addService({ Fail: method }, {
    Fail: unaryHandler(async () => {
      throw new ServiceFailure('NOT_FOUND', `service ${name} not found`);
    }, 5000),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor({ Fail: method }, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    client.close();
    server.forceShutdown();
  });
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    (client as unknown as { Fail: (req: Buffer, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void }).Fail(Buffer.alloc(1), { deadline: Date.now() + 3000 }, resolve);
  });
  const full = Buffer.byteLength(`service ${name} not found`);
  t.equal(err?.code, grpc.status.NOT_FOUND, 'answered NOT_FOUND, not waited out');
  t.equal(errorCodeOf(err?.metadata), 'NOT_FOUND');
  const details = err?.details ?? '';
  t.ok(details.startsWith('service nnn') && details.endsWith(`…(${full} bytes)`), `details end with the size: ${details.slice(-20)}`);
  t.ok(Buffer.byteLength(details) <= MAX_ERROR_MESSAGE_BYTES, `${Buffer.byteLength(details)} bytes`);
});

void t.test('shortened and quoteKey keep short text whole and never split a character', async (t) => {
  t.equal(shortened('abc'), 'abc');
  t.equal(quoteKey('a"b'), '"a\\"b"');
  t.equal(shortened('x'.repeat(65)), `${'x'.repeat(64)}…(65 bytes)`);
  t.equal(quoteKey('x'.repeat(65)), `"${'x'.repeat(64)}"…(65 bytes)`);
  const emoji = `${'x'.repeat(63)}😀tail`;
  t.equal(shortened(emoji), `${'x'.repeat(63)}…(${Buffer.byteLength(emoji)} bytes)`, 'the pair is dropped, not halved');
});
