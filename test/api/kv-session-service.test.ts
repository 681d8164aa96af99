/**
 * The server half of KvSession against a scripted KvOps: answers by id, errors as codes, the
 * bound on requests in progress per session, the budgets of bytes of answers per session and per
 * client, and a graceful end that answers what is in flight.
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import t from 'tap';
import { controllerServiceDefinition } from '../../src/api/controller-proto.js';
import type { KvOps, ReadRoom } from '../../src/api/kv-ops.js';
import { AnswerBudgets, getInProgressBytes } from '../../src/api/kv-session-answers.js';
import { MAX_ERROR_MESSAGE_BYTES } from '../../src/util/error-message.js';
import { errorMessage } from '../../src/util/error-message.js';
import { kvSessionLimits } from '../../src/api/kv-session-limits.js';
import { WaitingReads } from '../../src/api/kv-session-reads.js';
import { KvSessions, MAX_OUTSTANDING_PER_SESSION, MAX_SESSION_REQUEST_TIMEOUT_MS, type SessionRefusal } from '../../src/api/kv-session-service.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from '../../src/api/wire-types.js';
import { HostError } from '../../src/api/consensus-port.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { HELD_CHUNK_COST_BYTES, IncompleteRequests, type IncompleteCut } from '../../src/transport/incomplete-requests.js';
import { grpcFramed, MessageFrames } from '../../src/transport/message-frames.js';
import { waitFor } from '../helpers/wait-for.js';
import { ScriptedTimers } from '../helpers/scripted-timers.js';

interface Held {
  readonly key: string;
  readonly release: (revision: number) => void;
}

/** Puts wait until the test releases them; gets fail as NOT_LEADER. */
function heldKv(): { kv: KvOps; held: Held[] } {
  const held: Held[] = [];
  const kv: KvOps = {
    put: (req) => new Promise((resolve) => held.push({ key: req.key, release: (revision) => resolve({ revision }) })),
    delete: () => Promise.resolve({ revision: 1 }),
    get: () => Promise.reject(new HostError('NOT_LEADER', 'c2 leads now', 'c2')),
  };
  return { kv, held };
}

async function serve(
  t: { teardown(fn: () => void | Promise<void>): void },
  kv: KvOps,
  refusal: SessionRefusal = () => null,
  sessions: KvSessions = new KvSessions(),
  guard = true,
  incomplete?: IncompleteRequests,
): Promise<{ sessions: KvSessions; client: grpc.Client; method: grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>; address: string }> {
  // Behind the controllers' first interceptor, requests are read and answers written straight on
  // the HTTP/2 stream (direct-messages.ts); without it, through grpc-js.
  const server = new grpc.Server(guard ? { interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined, ...(incomplete === undefined ? {} : { incomplete }) })] } : {});
  server.addService(controllerServiceDefinition().service, { KvSession: sessions.handler(kv, 2000, undefined, refusal) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    client.close();
    server.forceShutdown();
  });
  const method = controllerServiceDefinition().service['KvSession'] as unknown as grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>;
  return { sessions, client, method, address: `127.0.0.1:${port}` };
}

function request(id: number, op: KvSessionRequestMsg['op'], key: string): KvSessionRequestMsg {
  return { id, op, timeoutMs: 2000, key, value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, serializable: false, clientId: '', clientSeq: 0, forwarded: false };
}

const MIB = 1024 * 1024;

type SessionMethod = grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>;

/** A KvSession over bare HTTP/2 (no gRPC client, so one write can pack many requests): its answers and grpc-status as they come. */
function rawSession(
  t: { teardown(fn: () => void | Promise<void>): void },
  method: SessionMethod,
  address: string,
  session: http2.ClientHttp2Session = http2.connect(`http://${address}`),
): { stream: http2.ClientHttp2Stream; answers: KvSessionResponseMsg[]; ended: () => { status: string; answeredBefore: number } | null; read: () => void } {
  t.teardown(() => session.destroy());
  const stream = session.request({ ':method': 'POST', ':path': method.path, 'content-type': 'application/grpc', te: 'trailers' });
  const frames = new MessageFrames(-1);
  const answers: KvSessionResponseMsg[] = [];
  let ended: { status: string; answeredBefore: number } | null = null;
  stream.on('trailers', (trailers) => {
    ended = { status: String(trailers['grpc-status']), answeredBefore: answers.length };
  });
  const read = (): void => {
    stream.on('data', (chunk: Buffer) => {
      for (const bytes of frames.take(chunk)) answers.push(method.responseDeserialize(bytes));
    });
  };
  return { stream, answers, ended: () => ended, read };
}

/** Requests 1..total framed back to back, as one write sends them. */
function packed(method: SessionMethod, total: number, make: (id: number) => KvSessionRequestMsg = (id) => request(id, 'KV_OP_PUT', `k${id}`)): Buffer {
  return Buffer.concat(Array.from({ length: total }, (_, i) => grpcFramed(method.requestSerialize(make(i + 1)))));
}

function open(client: grpc.Client, method: grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>) {
  const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
  const answers: KvSessionResponseMsg[] = [];
  let ended: 'end' | grpc.ServiceError | null = null;
  call.on('data', (a: KvSessionResponseMsg) => answers.push(a));
  call.on('error', (err: grpc.ServiceError) => (ended = err));
  call.on('end', () => (ended ??= 'end'));
  return { call, answers, ended: () => ended };
}

for (const guard of [true, false]) {
void t.test(`answers carry their request ids, in completion order, and failures carry their codes (${guard ? 'read and written on the HTTP/2 stream' : 'through grpc-js'})`, async (t) => {
  const { kv, held } = heldKv();
  const { client, method, sessions } = await serve(t, kv, undefined, undefined, guard);
  const s = open(client, method);
  s.call.write(request(1, 'KV_OP_PUT', 'a'));
  s.call.write(request(2, 'KV_OP_PUT', 'b'));
  s.call.write(request(3, 'KV_OP_GET', 'a'));
  await waitFor(() => held.length === 2 && s.answers.length === 1, 'two puts held, the get answered', 5000);
  t.strictSame([s.answers[0]?.id, s.answers[0]?.errorCode], [3, 'NOT_LEADER'], 'the get failed as NOT_LEADER');
  t.match(s.answers[0]?.errorMessage, /c2 leads now/);
  held[1]?.release(20);
  held[0]?.release(10);
  await waitFor(() => s.answers.length === 3, 'both puts answered', 5000);
  t.strictSame(
    s.answers.slice(1).map((a) => [a.id, a.errorCode, a.revision]),
    [
      [2, '', 20],
      [1, '', 10],
    ],
  );
  s.call.end();
  await waitFor(() => s.ended() === 'end', 'the session ends cleanly after the client half-closes', 5000);
  t.equal(sessions.readByGrpc, guard ? 0 : 1, guard ? 'read straight from the stream' : "read through grpc-js's reader");
});
}

void t.test('a request asking to wait 49 days waits at most the server\'s maximum', async (t) => {
  const deadlines: number[] = [];
  const kv: KvOps = {
    put: (_req, deadline) => {
      deadlines.push(deadline);
      return Promise.resolve({ revision: 1 });
    },
    delete: () => Promise.resolve({ revision: 1 }),
    get: () => Promise.reject(new HostError('NOT_LEADER', 'c2 leads now', 'c2')),
  };
  const { client, method } = await serve(t, kv);
  const s = open(client, method);
  s.call.write({ ...request(1, 'KV_OP_PUT', 'a'), timeoutMs: 2 ** 32 - 1 });
  await waitFor(() => s.answers.length === 1, 'the put answered', 5000);
  // The server set the deadline when the request reached it, before the answer came back: at
  // most the maximum from now (measured from the write, a slow delivery would count against it).
  const answered = Date.now();
  t.equal(deadlines.length, 1);
  t.ok(deadlines[0]! - answered <= MAX_SESSION_REQUEST_TIMEOUT_MS, `the put's deadline is ${deadlines[0]! - answered}ms after its answer, within ${MAX_SESSION_REQUEST_TIMEOUT_MS}ms`);
  s.call.end();
});

for (const guard of [true, false]) {
void t.test(`a session takes at most ${MAX_OUTSTANDING_PER_SESSION} requests at a time; the rest wait, none is lost (${guard ? 'read on the HTTP/2 stream' : 'through grpc-js'})`, async (t) => {
  const { kv, held } = heldKv();
  const { client, method } = await serve(t, kv, undefined, undefined, guard);
  const s = open(client, method);
  const total = MAX_OUTSTANDING_PER_SESSION + 50;
  for (let i = 1; i <= total; i++) s.call.write(request(i, 'KV_OP_PUT', `k${i}`));
  await waitFor(() => held.length === MAX_OUTSTANDING_PER_SESSION, 'the session full', 10000);
  // Let the remaining requests arrive if they were going to: a round of I/O turns.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.equal(held.length, MAX_OUTSTANDING_PER_SESSION, 'no request beyond the bound was started');
  for (const h of held.splice(0)) h.release(1);
  await waitFor(() => held.length === 50, 'the waiting requests started once there was room', 10000);
  for (const h of held.splice(0)) h.release(2);
  await waitFor(() => s.answers.length === total, 'every request answered', 10000);
  t.equal(new Set(s.answers.map((a) => a.id)).size, total, 'each exactly once');
  s.call.end();
});
}

void t.test(`requests packed many to an HTTP/2 DATA frame are still taken at most ${MAX_OUTSTANDING_PER_SESSION} at a time when read on the stream`, async (t) => {
  const { kv, held } = heldKv();
  const { method, address } = await serve(t, kv);
  const { stream, answers, read } = rawSession(t, method, address);
  read();
  const total = MAX_OUTSTANDING_PER_SESSION + 300;
  // One write: HTTP/2 cuts it into DATA frames of up to 16 KiB, each holding hundreds of requests.
  stream.write(packed(method, total));
  await waitFor(() => held.length === MAX_OUTSTANDING_PER_SESSION, 'the session full', 10000);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.equal(held.length, MAX_OUTSTANDING_PER_SESSION, 'no request beyond the bound was started');
  for (const h of held.splice(0)) h.release(1);
  await waitFor(() => held.length === 300, 'the waiting requests started once there was room', 10000);
  for (const h of held.splice(0)) h.release(2);
  await waitFor(() => answers.length === total, 'every request answered', 10000);
  t.strictSame(answers.map((a) => a.id), Array.from({ length: total }, (_, i) => i + 1), 'each exactly once, in order');
  stream.end();
});

void t.test('a half-close packed after requests that wait past the bound: every request is answered, in order, before the session ends OK', async (t) => {
  const { kv, held } = heldKv();
  const { method, address } = await serve(t, kv);
  const { stream, answers, ended, read } = rawSession(t, method, address);
  read();
  const total = MAX_OUTSTANDING_PER_SESSION + 300;
  // The requests and the END_STREAM in one write: the half-close arrives while 300 requests wait.
  stream.end(packed(method, total));
  await waitFor(() => held.length === MAX_OUTSTANDING_PER_SESSION, 'the session full', 10000);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.equal(ended(), null, 'the session does not end while requests wait');
  for (const h of held.splice(0)) h.release(1);
  await waitFor(() => held.length === 300, 'the waiting requests started once there was room', 10000);
  t.equal(ended(), null, 'nor while they are in progress');
  for (const h of held.splice(0)) h.release(2);
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, '0', 'cleanly');
  t.equal(ended()?.answeredBefore, total, 'every answer came before the status');
  t.strictSame(answers.map((a) => a.id), Array.from({ length: total }, (_, i) => i + 1), 'each exactly once, in order');
});

/** A Get's value read as the real KvOps reads it (kv-ops.ts): where the session has room for it, once there is. */
function readValue(room: ReadRoom | undefined, deadline: number, read: () => Buffer): Promise<Buffer> {
  return room === undefined ? Promise.resolve(read()) : room(read, (v) => v.byteLength, deadline);
}

/** A KvOps whose Gets are the test's and whose writes answer revision 1 at once. */
function kvOfGets(get: KvOps['get']): KvOps {
  return { put: () => Promise.resolve({ revision: 1 }), delete: () => Promise.resolve({ revision: 1 }), get };
}

/**
 * Gets that each read a value replaced since the one before (a new one of `bytes` each), so no
 * two answers share one: `gets` counts the Gets started, `reads` the values read.
 */
function replacedValueKv(bytes = 128 * 1024): { kv: KvOps; gets: () => number; reads: () => number } {
  let gets = 0;
  let reads = 0;
  const kv = kvOfGets(async (req, deadline, room) => {
    gets += 1;
    await new Promise((r) => setImmediate(r));
    let revision = 0;
    const value = await readValue(room, deadline, () => {
      revision = ++reads;
      return Buffer.alloc(bytes, revision & 0xff);
    });
    return { key: req.key, value, revision };
  });
  return { kv, gets: () => gets, reads: () => reads };
}

/** Until `count()` has stopped moving for a few turns of I/O. */
async function settled(count: () => number, what: string): Promise<void> {
  let seen = -1;
  await waitFor(async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const still = seen === count() && seen > 0;
    seen = count();
    return still;
  }, what, 10000);
}

const getRequest = (id: number): KvSessionRequestMsg => ({ ...request(id, 'KV_OP_GET', 'big'), value: Buffer.alloc(0), timeoutMs: 30_000 });

void t.test('answers a client does not read wait for room unencoded (a reference to the value, not a copy), then all go, before the status', async (t) => {
  const value = Buffer.alloc(256 * 1024, 7);
  let reads = 0;
  const kv = kvOfGets((req, deadline, room) =>
    readValue(room, deadline, () => {
      reads += 1;
      return value;
    }).then((v) => ({ key: req.key, value: v, revision: 3 })),
  );
  const { method, address } = await serve(t, kv);
  const { stream, answers, ended, read } = rawSession(t, method, address);
  stream.pause();
  const total = MAX_OUTSTANDING_PER_SESSION;
  const before = process.memoryUsage().arrayBuffers;
  stream.end(packed(method, total, getRequest));
  // The session's budget of answer bytes (64 MiB) takes 256 values of 256 KiB; the other Gets wait to read.
  await settled(() => reads, 'the session stopped reading values for its unread answers');
  const held = process.memoryUsage().arrayBuffers - before;
  t.ok(reads < total, `${reads} of ${total} values read`);
  t.ok(held < 8 * MIB, `${reads} answers of ${value.byteLength} bytes, unread, hold ${Math.round(held / 1e6)} MB (encoded at once: ${Math.round((reads * value.byteLength) / 1e6)} MB)`);
  read();
  stream.resume();
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, '0', 'cleanly');
  t.equal(ended()?.answeredBefore, total, 'every answer before the status');
  t.strictSame(answers.map((a) => a.id).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'each exactly once');
  t.ok(answers.every((a) => a.value.byteLength === value.byteLength), 'each with its value');
});

for (const guard of [true, false]) {
void t.test(`answers a client does not read are held to the session's budget of bytes, each value a different one; all go, in order, once it reads (${guard ? 'written on the HTTP/2 stream' : 'through grpc-js'})`, async (t) => {
  const { kv, gets, reads } = replacedValueKv();
  const budgets = new AnswerBudgets({ sessionBytes: 4 * MIB, clientBytes: 64 * MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets), guard);
  const { stream, answers, ended, read } = rawSession(t, method, address);
  stream.pause();
  const total = 300;
  const before = process.memoryUsage().arrayBuffers;
  stream.end(packed(method, total, getRequest));
  await settled(reads, 'the session stopped reading values');
  const held = process.memoryUsage().arrayBuffers - before;
  const counted = sessions.answers.held;
  // A value is read only while the counts are under the budget: at most the budget and one answer.
  // The Gets waiting to read count what they hold in progress, a few KiB each.
  const waitingBytes = (total - reads()) * getInProgressBytes('big');
  t.ok(counted - waitingBytes <= 4 * MIB + 128 * 1024 + 1024, `${reads()} of ${total} values read, their answers counted at ${counted - waitingBytes} bytes (and ${waitingBytes} for the Gets waiting), within the 4 MiB budget and one answer`);
  t.ok(held < 12 * MIB, `unread answers hold ${Math.round(held / 1e6)} MB (without the budget ${Math.round((total * 128 * 1024) / 1e6)} MB)`);
  t.equal(gets(), total, 'every Get taken: one waiting to read counts only what it holds in progress');
  t.ok(reads() < total, 'the rest wait to read their values');
  read();
  stream.resume();
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, '0', 'cleanly');
  t.strictSame(answers.map((a) => a.id), Array.from({ length: total }, (_, i) => i + 1), 'every answer, in order, before the status');
  t.ok(answers.every((a) => a.value.byteLength === 128 * 1024 && a.value[0] === (a.revision & 0xff)), 'each with its own value');
  t.equal(sessions.answers.held, 0, 'nothing counted once the session ended');
});
}

void t.test("writes that fail with long messages stay within the session's budget: an answer's message is cut to what the write counted from its start", async (t) => {
  // Puts that wait at a gate, then fail INTERNAL with a 20,000-byte message (an internal error's
  // text is unbounded). Counted at their key alone (65 bytes), 966 were taken under a 64 KiB
  // budget and their answers counted 19.3 MB.
  const gates: (() => void)[] = [];
  let opened = false;
  const long = `disk said: ${'é'.repeat(10_000)}`;
  const kv: KvOps = {
    put: async () => {
      if (!opened) await new Promise<void>((r) => gates.push(r));
      throw new ServiceFailure('INTERNAL', long);
    },
    delete: () => Promise.resolve({ revision: 1 }),
    get: () => Promise.reject(new Error('no gets here')),
  };
  const budget = 64 * 1024;
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, new AnswerBudgets({ sessionBytes: budget, clientBytes: 64 * MIB })));
  const { stream, answers, ended, read } = rawSession(t, method, address);
  stream.pause();
  const total = 1_000;
  stream.end(packed(method, total));
  await settled(() => gates.length, 'the session stopped taking puts');
  const taken = gates.length;
  opened = true;
  for (const g of gates.splice(0)) g();
  await settled(() => sessions.answers.held, 'the failed answers settled');
  const counted = sessions.answers.held;
  t.ok(counted <= budget + 64 + MAX_ERROR_MESSAGE_BYTES, `${taken} puts taken under the ${budget}-byte budget; their failed answers count ${counted} bytes, within it and one answer`);
  read();
  stream.resume();
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, '0', 'cleanly');
  t.equal(answers.length, total, 'every put answered');
  t.ok(answers.every((a) => a.errorCode === 'INTERNAL' && a.errorMessage === errorMessage(long)), 'each failed INTERNAL with the message cut');
  const message = answers[0]?.errorMessage ?? '';
  t.ok(Buffer.byteLength(message) <= MAX_ERROR_MESSAGE_BYTES && message.startsWith('disk said: éé') && message.endsWith(`…(${Buffer.byteLength(long)} bytes)`), `cut to ${Buffer.byteLength(message)} bytes, on a character boundary, its size told`);
  t.notOk(message.includes('\ufffd'), 'no character cut in half');
  t.equal(sessions.answers.held, 0, 'nothing counted once the session ended');
});

/** Gets that wait until the test opens their gate (all at once, and any after), then read a small value. */
function gatedGetKv(): { kv: KvOps; gets: () => number; open: () => void } {
  let opened = false;
  const gates: (() => void)[] = [];
  let gets = 0;
  const kv = kvOfGets(async (req, deadline, room) => {
    gets += 1;
    if (!opened) await new Promise<void>((r) => gates.push(r));
    return { key: req.key, value: await readValue(room, deadline, () => Buffer.from('v')), revision: 1 };
  });
  const open = (): void => {
    opened = true;
    for (const g of gates.splice(0)) g();
  };
  return { kv, gets: () => gets, open };
}

void t.test(`Gets waiting for their reads count only what they hold in progress, not a value: a session keeps ${MAX_OUTSTANDING_PER_SESSION} of them in flight, not 64 (each counted as a 1 MiB value)`, async (t) => {
  const { kv, gets, open } = gatedGetKv();
  const { method, address, sessions } = await serve(t, kv);
  const { stream, answers, ended, read } = rawSession(t, method, address);
  read();
  const total = MAX_OUTSTANDING_PER_SESSION + 50;
  stream.end(packed(method, total, getRequest));
  await settled(gets, 'the session took its Gets');
  t.equal(gets(), MAX_OUTSTANDING_PER_SESSION, 'in flight at once: the bound on requests in progress, not the budget of bytes');
  t.equal(sessions.answers.held, MAX_OUTSTANDING_PER_SESSION * getInProgressBytes('big'), 'counted at what they hold in progress while they wait for their reads');
  open();
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, '0', 'cleanly');
  t.strictSame(answers.map((a) => a.id).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'each answered once');
  t.equal(sessions.answers.held, 0);
});

void t.test("Gets in progress count what they hold (their state and key, a few KiB each) against the client's budget, so a client's sessions cannot park 1,024 each, unread; counted so, they never keep each other from reading", async (t) => {
  const { kv, gets, open } = gatedGetKv();
  // A client's budget of 1 MiB: about 200 Gets in progress, of the 1,024 one session may have.
  const budgets = new AnswerBudgets({ sessionBytes: 64 * MIB, clientBytes: MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets));
  const { stream, answers, ended, read } = rawSession(t, method, address);
  read();
  const total = MAX_OUTSTANDING_PER_SESSION;
  stream.end(packed(method, total, getRequest));
  await settled(gets, 'the session took its Gets');
  t.ok(gets() < total / 2, `${gets()} of ${total} Gets in progress at once`);
  t.ok(sessions.answers.held >= MIB, `counted ${sessions.answers.held} bytes while they wait for their barriers`);
  // Their barriers pass with the budget full of Gets in progress: each reads, none waits for another.
  open();
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, '0', 'cleanly');
  t.strictSame(answers.map((a) => a.id).sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'each answered once');
  t.ok(answers.every((a) => a.errorCode === ''), 'each with its value');
  t.equal(sessions.answers.held, 0);
});

void t.test('Gets waiting for room read oldest first as bytes are given back; a read that throws fails its own Get, and those behind it still read', async (t) => {
  const budgets = new AnswerBudgets({ sessionBytes: 100, clientBytes: 1000 });
  const held = budgets.open('client');
  const reads = new WaitingReads(held, budgets.opts, () => undefined);
  const room = (): ReturnType<WaitingReads['room']> => reads.room((valueBytes) => valueBytes, () => undefined);
  held.add(100);
  const order: string[] = [];
  const deadline = Date.now() + 30_000;
  const broken = room()(() => {
    order.push('broken');
    throw new Error('the state machine failed');
  }, () => 0, deadline);
  const next = room()(() => {
    order.push('next');
    return 'value';
  }, (v) => v.length, deadline);
  t.equal(reads.length, 2, 'both wait: the session holds its budget');
  held.add(-100);
  reads.serve();
  t.strictSame(order, ['broken', 'next'], 'oldest first, the second read though the first threw');
  t.match(await broken.catch((e: unknown) => e), { message: 'the state machine failed' });
  t.equal(await next, 'value');
  t.equal(held.held, 5, "the value read is counted, the failed read's is not");
  t.equal(reads.length, 0);
  held.close();
});

/**
 * Sessions of one client stopped for its budget are woken least recently served first. Woken in
 * the order they signed up, the first took every byte given back while it kept Gets waiting, and
 * the client's later sessions never read: here the early one read 15 of 15, the others none.
 */
void t.test("a client's sessions waiting for its room are served in turn: a late session reads while an early one keeps its queue full", async (t) => {
  const timers = new ScriptedTimers();
  timers.clock = Date.now();
  const budgets = new AnswerBudgets({ sessionBytes: 1_000_000, clientBytes: 300 });
  const order: string[] = [];
  const deadline = timers.clock + 60_000;
  const open = (name: string, gets: number) => {
    const held = budgets.open('client');
    // As a session's flow does (kv-session-service.ts): serve its waiting Gets, and wait again while they still wait for the client's room.
    const flow = (): void => {
      reads.serve();
      if (reads.length > 0 && held.clientReadFull) held.whenClientHasRoom(flow);
    };
    const reads: WaitingReads = new WaitingReads(held, budgets.opts, () => {
      if (held.clientReadFull) held.whenClientHasRoom(flow);
    }, timers);
    return { name, held, reads, gets };
  };
  const early = open('early', 40);
  early.held.add(300); // its answers not yet read hold the client's budget
  const sessions = [early, open('late', 5), open('later', 5)];
  for (const s of sessions) {
    for (let i = 0; i < s.gets; i++) s.reads.room((valueBytes) => valueBytes, () => undefined)(() => void order.push(s.name), () => 100, deadline).catch(() => undefined); // those left fail as their session ends
  }
  t.strictSame(sessions.map((s) => s.reads.length), [40, 5, 5], 'every Get waits: the client holds its budget');
  for (let round = 0; round < 15; round++) {
    // The client reads one answer of 100 bytes, of the session holding the most.
    const holder = sessions.reduce((a, b) => (b.held.held > a.held.held ? b : a));
    holder.held.add(-100);
  }
  t.strictSame(order.slice(0, 6), ['late', 'later', 'early', 'late', 'later', 'early'], 'in turn, least recently served first');
  t.equal(order.filter((n) => n === 'late').length, 5, 'the late session read all its Gets');
  t.equal(order.filter((n) => n === 'later').length, 5, 'and so did the later one');
  t.equal(early.reads.length, 35, 'while the early one still kept Gets waiting');
  t.ok(budgets.heldBy('client') <= 300, `the client's budget held: ${budgets.heldBy('client')} bytes`);
  for (const s of sessions) {
    s.reads.drop();
    s.held.close();
  }
});

void t.test("a session's Gets waiting for room share one timer: each fails TIMEOUT at its own deadline, earliest first; those served before it read; none piles up", async (t) => {
  const timers = new ScriptedTimers();
  timers.clock = Date.now();
  const budgets = new AnswerBudgets({ sessionBytes: 100, clientBytes: 1000 });
  const held = budgets.open('client');
  const reads = new WaitingReads(held, budgets.opts, () => undefined, timers);
  held.add(100);
  const start = timers.clock;
  const outcomes: string[] = [];
  const total = 1_000;
  const gets: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    // Deadlines out of order: 1-5 s away, as requests ask different timeouts.
    const deadline = start + 1_000 + ((i * 7919) % 4_000);
    // Their answers count nothing here: once room is made, all of them read.
    const read = reads.room(() => 0, () => undefined)(() => 'v', (v) => v.length, deadline);
    gets.push(read.then(() => void outcomes.push(`read ${i}`), (err: { code?: string; message: string }) => void outcomes.push(`${err.code ?? '?'} ${i} ${deadline - start}`)));
  }
  t.equal(reads.length, total, 'all wait: the session holds its budget');
  t.equal(timers.armed, 1, 'on one timer');
  timers.advanceTo(start + 3_000);
  await new Promise((r) => setImmediate(r));
  const timedOut = outcomes.filter((o) => o.startsWith('TIMEOUT'));
  const due = Array.from({ length: total }, (_, i) => 1_000 + ((i * 7919) % 4_000)).filter((d) => d <= 3_000).length;
  t.equal(timedOut.length, due, `the ${due} whose deadlines passed failed TIMEOUT`);
  t.strictSame(timedOut.map((o) => Number(o.split(' ')[2])), [...timedOut.map((o) => Number(o.split(' ')[2]))].sort((a, b) => a - b), 'earliest first');
  t.equal(reads.length, total - due, 'the rest still wait');
  t.ok(reads.held.queue <= 2 * reads.length + 64 && reads.held.deadlines <= 2 * reads.length + 64 + 1, `what timed out is not held (${reads.held.queue} queued, ${reads.held.deadlines} deadlines, for ${reads.length} waiting)`);
  held.add(-100);
  reads.serve();
  await Promise.all(gets);
  t.equal(outcomes.filter((o) => o.startsWith('read')).length, total - due, 'served once there is room: they read');
  t.equal(reads.length, 0);
  t.equal(timers.armed, 0, 'no timer left armed');
  t.equal(timers.most, 1, 'never more than one');
  const failed = await reads.room((b) => b, () => undefined)(() => 'v', (v) => v.length, start + 10).then(() => null, (e: unknown) => e);
  t.equal(failed, null, 'a Get that finds room reads at once, whatever its deadline');
  held.close();
});

/**
 * Sessions on one connection (without TLS, the client they all count against) that read a new
 * value of `valueBytes` at each Get; budgets of 4 MiB for each session and for the client.
 */
async function sessionsOfOneClient(t: { teardown(fn: () => void | Promise<void>): void }, count: number, valueBytes = MIB) {
  const { kv, gets, reads } = replacedValueKv(valueBytes);
  const budgets = new AnswerBudgets({ sessionBytes: 4 * MIB, clientBytes: 4 * MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets));
  const connection = http2.connect(`http://${address}`);
  const opened = Array.from({ length: count }, () => rawSession(t, method, address, connection));
  return { gets, reads, method, sessions, opened };
}

/** Two such sessions: the first (not reading) holds the client's budget with four values of 1 MiB. */
async function twoSessionsOfOneClient(t: { teardown(fn: () => void | Promise<void>): void }) {
  const { gets, reads, method, sessions, opened } = await sessionsOfOneClient(t, 2);
  const [a, b] = [opened[0]!, opened[1]!];
  return { gets, reads, method, sessions, a, b };
}

void t.test("a client's sessions together are held to its budget; one stopped by another's bytes reads again once they are given back", async (t) => {
  const { gets, reads, method, sessions, a, b } = await twoSessionsOfOneClient(t);
  a.stream.pause();
  a.read();
  b.read();
  const total = 10;
  a.stream.end(packed(method, total, getRequest));
  await settled(reads, "the first session's values read");
  t.equal(reads(), 4, 'the first session read four values of 1 MiB: the budget');
  t.equal(gets(), total, 'and took all its Gets, the rest waiting to read');
  b.stream.end(packed(method, total, getRequest));
  await settled(gets, "the second session's requests arrived");
  t.equal(gets(), total, "the second session took none: the client's budget is held by the first");
  t.ok(sessions.answers.held <= 4 * MIB + MIB + 1024, `counted ${sessions.answers.held} bytes`);
  a.stream.resume();
  await waitFor(() => a.ended() !== null && b.ended() !== null, 'both sessions ended', 10000);
  t.equal(a.ended()?.status, '0');
  t.equal(b.ended()?.status, '0', 'the second read again once the first gave its bytes back');
  t.strictSame(a.answers.map((x) => x.id), Array.from({ length: total }, (_, i) => i + 1), 'in order');
  t.strictSame(b.answers.map((x) => x.id), Array.from({ length: total }, (_, i) => i + 1), 'in order');
  t.equal(sessions.answers.held, 0);
});

void t.test("a session stopped by its client's budget reads again when the session holding it is cancelled, its Gets still in progress", async (t) => {
  const { gets, reads, method, sessions, a, b } = await twoSessionsOfOneClient(t);
  a.stream.on('error', () => undefined);
  a.stream.pause();
  b.read();
  a.stream.write(packed(method, 10, getRequest));
  await settled(reads, "the first session's values read");
  b.stream.end(packed(method, 3, getRequest));
  await settled(gets, "the second session's requests arrived");
  t.equal(gets(), 10, "the second session took none: the first holds the client's budget");
  a.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => b.ended() !== null, 'the second session ended', 5000);
  t.equal(gets(), 13, "the second session took its Gets once the first's bytes were given back");
  t.equal(b.ended()?.status, '0');
  t.strictSame(b.answers.map((x) => x.id), [1, 2, 3], 'every answer, in order');
  await waitFor(() => sessions.answers.held === 0, 'nothing counted once both ended', 5000);
});

void t.test("a cancelled session's Gets settle at once, not at their deadlines: those waiting for room, and those whose read barrier ends after it was cancelled, while its client's budget is held", async (t) => {
  // Every Get reads 1 MiB after a read barrier the test holds: one gate for the key "slow", one for the rest.
  let gets = 0;
  let reads = 0;
  let settledGets = 0;
  const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
  for (const key of ['slow', 'big']) {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((r) => (open = r));
    gates.set(key, { open, opened });
  }
  const kv = kvOfGets(async (req, deadline, room) => {
    gets += 1;
    await gates.get(req.key)?.opened;
    try {
      const value = await readValue(room, deadline, () => Buffer.alloc(MIB, ++reads & 0xff));
      return { key: req.key, value, revision: reads };
    } finally {
      settledGets += 1;
    }
  });
  const budgets = new AnswerBudgets({ sessionBytes: 64 * MIB, clientBytes: 4 * MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets));
  const connection = http2.connect(`http://${address}`);
  const [a, b] = [rawSession(t, method, address, connection), rawSession(t, method, address, connection)];
  a.stream.pause();
  a.stream.on('error', () => undefined);
  b.stream.on('error', () => undefined);
  // Deadlines of 30 s: the test waits 5 s at most for each Get to settle.
  a.stream.write(packed(method, 4, getRequest));
  await waitFor(() => gets === 4, "the first session's Gets wait for their barriers", 5000);
  b.stream.write(packed(method, 2, (id) => (id === 1 ? { ...getRequest(id), key: 'slow' } : getRequest(id))));
  await waitFor(() => gets === 6, "the second session's Gets wait for their barriers", 5000);
  gates.get('big')?.open();
  await waitFor(() => reads === 4 && settledGets === 4, "the first session's four values, unread, hold the client's budget", 5000);
  await settled(() => reads, "the second session's Get waits for room");
  t.equal(reads, 4, "the second session's Get waits for room");
  b.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => settledGets === 5, 'the Get waiting for room settled once its session was cancelled', 5000);
  gates.get('slow')?.open();
  await waitFor(() => settledGets === 6, 'the Get whose barrier ended after its session was cancelled settled', 5000);
  t.equal(reads, 4, 'neither read a value');
  a.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => sessions.answers.held === 0, 'nothing counted once both ended', 5000);
});

void t.test("four sessions of one client that never read, each Get's value replaced since the one before: the client's budget and one value at most, in all", async (t) => {
  const { gets, reads, method, sessions, opened } = await sessionsOfOneClient(t, 4);
  const total = 12;
  const before = process.memoryUsage().arrayBuffers;
  for (const s of opened) {
    s.stream.pause();
    s.stream.end(packed(method, total, getRequest));
  }
  await settled(gets, 'the sessions took their Gets');
  await settled(reads, 'the sessions stopped reading values');
  const counted = sessions.answers.held;
  const held = process.memoryUsage().arrayBuffers - before;
  t.equal(gets(), 4 * total, 'every Get taken: those waiting to read count nothing');
  t.ok(reads() <= 5, `${reads()} of ${4 * total} values of 1 MiB read`);
  t.ok(counted <= 4 * MIB + MIB + 1024, `counted ${counted} bytes: the 4 MiB budget and one answer`);
  t.ok(held < 16 * MIB, `the unread answers hold ${Math.round(held / 1e6)} MB (without the budget ${Math.round((4 * total * MIB) / 1e6)} MB)`);
  // The budget is full of values read; the client then reads, and every Get waiting reads in turn.
  for (const s of opened) {
    s.read();
    s.stream.resume();
  }
  await waitFor(() => opened.every((s) => s.ended() !== null), 'every session ended', 20000);
  for (const s of opened) {
    t.equal(s.ended()?.status, '0');
    t.strictSame(s.answers.map((x) => x.id), Array.from({ length: total }, (_, i) => i + 1), 'every answer, in order');
  }
  t.equal(sessions.answers.held, 0, 'nothing counted once they ended');
});

void t.test("a Get that waits for room past its deadline fails TIMEOUT, naming the unread answers that hold the budget; the session goes on", async (t) => {
  // Gets of the key "slow" wait for the test's gate before they read; every Get reads 1 MiB.
  let reads = 0;
  let timedOut = 0;
  let gate: () => void = () => undefined;
  const gated = new Promise<void>((r) => (gate = r));
  const kv = kvOfGets(async (req, deadline, room) => {
    if (req.key === 'slow') await gated;
    try {
      const value = await readValue(room, deadline, () => Buffer.alloc(MIB, ++reads & 0xff));
      return { key: req.key, value, revision: reads };
    } catch (err) {
      timedOut += 1;
      throw err;
    }
  });
  const budgets = new AnswerBudgets({ sessionBytes: 64 * MIB, clientBytes: 4 * MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets));
  const { stream, answers, ended, read } = rawSession(t, method, address);
  stream.pause();
  // A Get in progress, then four whose values, unread, hold the client's budget.
  stream.write(packed(method, 5, (id) => (id === 1 ? { ...getRequest(id), key: 'slow', timeoutMs: 500 } : getRequest(id))));
  await settled(() => reads, 'four values read: the budget');
  gate();
  await waitFor(() => timedOut === 1, 'the slow Get gave up waiting for room', 5000);
  t.equal(reads, 4, 'it never read its value');
  read();
  stream.resume();
  await waitFor(() => answers.length === 5, 'every Get answered', 5000);
  t.strictSame(answers.map((x) => [x.id, x.errorCode, x.value.byteLength]), [[2, '', MIB], [3, '', MIB], [4, '', MIB], [5, '', MIB], [1, 'TIMEOUT', 0]], 'in the order they completed');
  t.match(answers[4]?.errorMessage, /^the Get waited \d+ms for room to read its value, until its deadline: this client's KvSessions on this controller hold their budget of 4194304 bytes of answers not yet read$/);
  t.equal(ended(), null, 'the session is not ended');
  stream.end(packed(method, 1, (id) => getRequest(id + 5)));
  await waitFor(() => ended() !== null, 'the session ended', 5000);
  t.equal(ended()?.status, '0');
  t.strictSame(answers.slice(5).map((x) => [x.id, x.errorCode, x.value.byteLength]), [[6, '', MIB]], 'the next Get read its value');
  t.equal(sessions.answers.held, 0);
});

for (const guard of [true, false]) {
void t.test(`a session that ended with its last answers unread still counts them: sessions opened one after another cannot pass the client's budget (${guard ? 'written on the HTTP/2 stream' : 'through grpc-js'})`, async (t) => {
  let reads = 0;
  // A new 1 MiB value at each read, as if the key were replaced between the Gets.
  const kv = kvOfGets(async (req, deadline, room) => {
    let revision = 0;
    const value = await readValue(room, deadline, () => Buffer.alloc(MIB, (revision = ++reads) & 0xff));
    return { key: req.key, value, revision };
  });
  const budgets = new AnswerBudgets({ sessionBytes: 4 * MIB, clientBytes: 4 * MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets), guard);
  const connection = http2.connect(`http://${address}`);
  const total = 12;
  const opened: ReturnType<typeof rawSession>[] = [];
  // Each session: one Get and its end, its answer never read; then the next session.
  for (let i = 0; i < total; i++) {
    const s = rawSession(t, method, address, connection);
    s.stream.pause();
    s.stream.end(packed(method, 1, getRequest));
    opened.push(s);
  }
  await settled(() => reads, 'the sessions stopped reading values');
  t.ok(reads <= 5, `${reads} of ${total} values read while their answers are unread: the client's budget holds four of 1 MiB`);
  t.ok(sessions.answers.held >= 4 * MIB, `their bytes still counted (${sessions.answers.held})`);
  for (const s of opened) {
    s.read();
    s.stream.resume();
  }
  await waitFor(() => opened.every((s) => s.ended() !== null), 'every session ended', 10000);
  t.ok(opened.every((s) => s.ended()?.status === '0' && s.answers.length === 1 && s.answers[0]?.value.byteLength === MIB), 'each cleanly, with its answer');
  t.equal(reads, total);
  t.equal(sessions.answers.held, 0, 'nothing counted once they ended');
});
}

void t.test('a session the server stopped reading, a request half-received, is not cut as stalled while the server holds it; once it reads again, the stall clock runs', async (t) => {
  const { kv, reads } = replacedValueKv(MIB);
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const incomplete = new IncompleteRequests({ budgetBytes: 1 << 30, stallMs: 30_000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  // Two values of 1 MiB, unread, hold the budget: the session stops reading.
  const budgets = new AnswerBudgets({ sessionBytes: 2 * MIB, clientBytes: 64 * MIB });
  const { method, address, sessions } = await serve(t, kv, undefined, new KvSessions(undefined, budgets), true, incomplete);
  const { stream, answers, read } = rawSession(t, method, address);
  stream.pause();
  let reset: number | null = null;
  stream.on('error', () => undefined);
  stream.on('close', () => (reset = stream.rstCode ?? null));
  const fourth = grpcFramed(method.requestSerialize(getRequest(4)));
  // Three Gets and half of a fourth, in one DATA frame: the session stops with half a message taken.
  stream.write(Buffer.concat([packed(method, 3, getRequest), fourth.subarray(0, 8)]));
  await waitFor(() => reads() === 2 && sessions.answers.held >= 2 * MIB && incomplete.pendingBytes === 8 + HELD_CHUNK_COST_BYTES, 'two values read and unread, half a request received (8 bytes in one chunk)', 5000);
  now += 60_000;
  incomplete.sweep();
  t.same(cuts, [], 'not cut: the server, not the client, stopped the bytes');
  read();
  stream.resume();
  await waitFor(() => answers.length === 3, 'the session read again and answered the three Gets', 5000);
  now += 20_000;
  incomplete.sweep();
  t.same(cuts, [], 'the time it was held does not count once it reads again');
  stream.write(fourth.subarray(8));
  await waitFor(() => answers.length === 4, 'the fourth Get answered', 5000);
  t.strictSame(answers.map((a) => a.id), [1, 2, 3, 4], 'in order');
  stream.write(fourth.subarray(0, 8));
  await waitFor(() => incomplete.pendingBytes === 8 + HELD_CHUNK_COST_BYTES, 'half of another request received', 5000);
  now += 30_000;
  incomplete.sweep();
  t.same(cuts, ['stalled'], 'a client that stops sending by itself is still cut');
  await waitFor(() => reset !== null, 'the stream reset', 5000);
  t.equal(reset, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
});


void t.test('a caller refused while requests wait past the bound: those in progress are answered, the waiting ones never start, the session ends PERMISSION_DENIED', async (t) => {
  const { kv, held } = heldKv();
  let refused: string | null = null;
  const { method, address } = await serve(t, kv, () => refused);
  const { stream, answers, ended, read } = rawSession(t, method, address);
  read();
  stream.write(packed(method, MAX_OUTSTANDING_PER_SESSION + 300));
  await waitFor(() => held.length === MAX_OUTSTANDING_PER_SESSION, 'the session full', 10000);
  refused = 'NOT_A_MEMBER: no longer a member';
  for (const h of held.splice(0)) h.release(1);
  await waitFor(() => ended() !== null, 'the session ended', 10000);
  t.equal(ended()?.status, String(grpc.status.PERMISSION_DENIED), 'refused');
  t.equal(held.length, 0, 'no waiting request started after the refusal');
  t.strictSame(answers.map((a) => a.id), Array.from({ length: MAX_OUTSTANDING_PER_SESSION }, (_, i) => i + 1), 'each request in progress answered');
  stream.close();
});

void t.test('a graceful end answers the requests in progress, takes no new ones, and ends the stream', async (t) => {
  const { kv, held } = heldKv();
  const { sessions, client, method } = await serve(t, kv);
  const s = open(client, method);
  s.call.write(request(1, 'KV_OP_PUT', 'a'));
  await waitFor(() => held.length === 1, 'the put in progress', 5000);
  sessions.endAll();
  s.call.write(request(2, 'KV_OP_PUT', 'b'));
  held[0]?.release(7);
  await waitFor(() => s.ended() !== null, 'the session ended', 5000);
  t.equal(s.ended(), 'end', 'cleanly (status OK)');
  t.strictSame(
    s.answers.map((a) => [a.id, a.revision]),
    [[1, 7]],
    'the request in progress was answered; the one sent after the end was not started',
  );
  t.equal(held.length, 1);
  // A session opened after endAll ends at once.
  const late = open(client, method);
  late.call.write(request(3, 'KV_OP_PUT', 'c'));
  await waitFor(() => late.ended() !== null, 'the late session ended', 5000);
  t.equal(late.answers.length, 0);
  t.equal(held.length, 1, 'and nothing it sent was started');
});

void t.test('a caller refused after the session opened (a removed member\'s key) has its next request refused and the session ended PERMISSION_DENIED', async (t) => {
  const { kv, held } = heldKv();
  let refused: string | null = null;
  const { client, method } = await serve(t, kv, () => refused);
  const s = open(client, method);
  s.call.write(request(1, 'KV_OP_PUT', 'before'));
  await waitFor(() => held.length === 1, 'the first put started', 5000);
  held[0]?.release(3);
  await waitFor(() => s.answers.length === 1, 'the first put answered', 5000);
  refused = 'NOT_A_MEMBER: the caller is the peer certificate of "c3", no longer a member';
  s.call.write(request(2, 'KV_OP_PUT', 'after'));
  s.call.write(request(3, 'KV_OP_DELETE', 'after'));
  await waitFor(() => s.ended() !== null, 'the session ended', 5000);
  const ended = s.ended();
  t.not(ended, 'end', 'not a clean end');
  t.equal((ended as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
  t.match((ended as grpc.ServiceError).details, /^NOT_A_MEMBER: the caller is the peer certificate of "c3"/, 'naming why');
  t.strictSame(
    held.map((h) => h.key),
    ['before'],
    'the put sent after the refusal was never started',
  );
  t.strictSame(
    s.answers.map((a) => a.id),
    [1],
  );
});

void t.test('a caller refused while requests are in progress has them answered with what they did, then the session ends PERMISSION_DENIED', async (t) => {
  const { kv, held } = heldKv();
  let refused: string | null = null;
  let judged = 0;
  const { client, method } = await serve(t, kv, () => {
    judged += 1;
    return refused;
  });
  const s = open(client, method);
  s.call.write(request(1, 'KV_OP_PUT', 'in-progress'));
  await waitFor(() => held.length === 1, 'the put started', 5000);
  refused = 'NOT_A_MEMBER: the caller is the peer certificate of "c3", no longer a member';
  s.call.write(request(2, 'KV_OP_PUT', 'after'));
  // The refusal takes effect at request 2; the put in progress then commits.
  await waitFor(() => judged === 2, 'request 2 judged', 5000);
  held[0]?.release(7);
  await waitFor(() => s.ended() !== null, 'the session ended', 5000);
  t.strictSame(
    s.answers.map((a) => [a.id, a.errorCode, a.revision]),
    [[1, '', 7]],
    'the put in progress is answered with its revision, not dropped',
  );
  const ended = s.ended();
  t.not(ended, 'end', 'not a clean end');
  t.equal((ended as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
  t.match((ended as grpc.ServiceError).details, /^NOT_A_MEMBER: /);
  t.strictSame(held.map((h) => h.key), ['in-progress'], 'the put sent after the refusal was never started');
});

void t.test('sessions are held to the caps per client: one past them is refused RESOURCE_EXHAUSTED, and a closed one gives its place back', async (t) => {
  const { kv, held } = heldKv();
  const refused: string[] = [];
  const limits = kvSessionLimits({ maxPerClient: 2, maxTotal: 10 }, { refused: (r) => void refused.push(r), cutOff: () => undefined });
  const { sessions, client, method } = await serve(t, kv, undefined, new KvSessions(limits));
  const [a, b, c] = [open(client, method), open(client, method), open(client, method)];
  a.call.write(request(1, 'KV_OP_PUT', 'a'));
  b.call.write(request(1, 'KV_OP_PUT', 'b'));
  await waitFor(() => held.length === 2, 'the first two sessions serving', 5000);
  c.call.write(request(1, 'KV_OP_PUT', 'c'));
  await waitFor(() => c.ended() !== null, 'the third session ended', 5000);
  t.match(c.ended(), { code: grpc.status.RESOURCE_EXHAUSTED, details: /has 2 KvSessions open on this controller, the most one client may \(2\)/ }, 'refused, naming the cap');
  t.equal(held.length, 2, 'nothing it sent was started');
  t.same(refused, ['per_client']);
  t.equal(sessions.limits.open, 2);
  a.call.cancel();
  await waitFor(() => sessions.limits.open === 1, 'the cancelled session gives its place back', 5000);
  const d = open(client, method);
  d.call.write(request(1, 'KV_OP_PUT', 'd'));
  await waitFor(() => held.length === 3, 'a new session is served in its place', 5000);
  held.forEach((h, i) => h.release(i + 1));
  b.call.end();
  d.call.end();
  await waitFor(() => b.ended() !== null && d.ended() !== null, 'both end', 5000);
  t.equal(sessions.limits.open, 0, 'sessions that ended hold no place');
});
