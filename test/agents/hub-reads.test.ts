/**
 * An AgentSync stream's messages read straight from its HTTP/2 stream (src/agents/hub-reads.ts)
 * against the same bytes read through grpc-js: the same messages in the same order however the
 * chunks split them, the same end, and the same status for a message past the limit or one that
 * does not decode. Sent by a raw HTTP/2 client, so the chunks are the test's.
 */
import t from 'tap';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { takeReads } from '../../src/agents/hub-reads.js';
import { grpcFramed, MessageFrames, MessageTooLargeError } from '../../src/transport/message-frames.js';
import { AGENT_SYNC_SERVICE, SYNC_METHOD, type ControllerFrame } from '../../src/agents/sync-codec.js';
import { decodeAgentMessage, encodeAgentFrame, type AgentMessageWire } from '../../src/agents/wire.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

type Way = 'grpc-js' | 'direct';

const MAX_RECEIVE = 4096;
const framed = (m: Parameters<typeof encodeAgentFrame>[0]): Buffer => grpcFramed(SYNC_METHOD.requestSerialize(encodeAgentFrame(m)));
const MESSAGES = [
  framed({ type: 'pong', seq: 7 }),
  framed({ type: 'ack', nonce: 41, version: 12 }),
  framed({ type: 'nack', nonce: 42, version: 12, error: 'x'.repeat(1500) }),
  framed({ type: 'ack', nonce: 43, version: 13 }),
];
const ALL = Buffer.concat(MESSAGES);

/** What each call sends, in chunks, by the `x-case` header of its request. */
const CASES: Readonly<Record<string, readonly Buffer[]>> = {
  whole: MESSAGES,
  // A prefix split, a body split over three chunks, two messages and a half in one.
  split: [ALL.subarray(0, 3), ALL.subarray(3, 20), ALL.subarray(20, 700), ALL.subarray(700, 1400), ALL.subarray(1400)],
  'too-large': [MESSAGES[0]!, grpcFramed(Buffer.alloc(MAX_RECEIVE + 1)), MESSAGES[1]!],
  undecodable: [MESSAGES[0]!, grpcFramed(Buffer.from([0xff, 0xff, 0xff])), MESSAGES[1]!],
  // The compression flag on a request that named no encoding: read as it is, as grpc-js reads it.
  'flagged-compressed': [MESSAGES[0]!, Buffer.concat([Buffer.from([1]), MESSAGES[1]!.subarray(1)])],
  // The largest length a prefix can say: refused at its prefix, before any body arrives.
  'length-max': [MESSAGES[0]!, Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(100)],
  // A message of no bytes decodes (to no type: the hub's to refuse), and what follows still comes.
  empty: [MESSAGES[0]!, grpcFramed(Buffer.alloc(0)), MESSAGES[1]!],
  // The client's end with a message half sent: the messages before it, then the end.
  'end-mid-message': [MESSAGES[0]!, MESSAGES[2]!.subarray(0, 3), MESSAGES[2]!.subarray(3, 900)],
  // Every byte of two messages in a DATA frame of its own.
  bytewise: [...Buffer.concat([MESSAGES[0]!, MESSAGES[1]!])].map((b) => Buffer.from([b])),
};

interface Seen {
  readonly messages: string[];
  readonly ended: boolean;
  readonly trailers: Record<string, unknown> | null;
  readonly headers: Record<string, unknown>;
}

interface Received {
  messages: string[];
  ended: boolean;
  cancelled: boolean;
}

async function serve(way: Way): Promise<{ port: number; stop: () => void; received: Map<string, Received>; direct: () => number }> {
  const received = new Map<string, Received>();
  let direct = 0;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_RECEIVE, interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined })] });
  server.addService(AGENT_SYNC_SERVICE, {
    Sync: (call: grpc.ServerDuplexStream<AgentMessageWire, ControllerFrame>) => {
      const seen: Received = { messages: [], ended: false, cancelled: false };
      call.on('cancelled', () => {
        seen.cancelled = true;
      });
      received.set(String(call.metadata.get('x-case')[0]), seen);
      const described = (w: AgentMessageWire): string => {
        try {
          return JSON.stringify(decodeAgentMessage(w));
        } catch (err) {
          return `malformed ${w.type}: ${(err as Error).message}`;
        }
      };
      // Where each message came from: read directly, or through grpc-js's call.
      const directly = (w: AgentMessageWire): void => void seen.messages.push(described(w));
      if (way === 'direct' && takeReads(call, directly)) direct++;
      call.on('data', (w: AgentMessageWire) => void seen.messages.push(`through grpc-js: ${described(w)}`));
      call.on('end', () => {
        seen.ended = true;
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'done here; try another controller' });
      });
    },
  });
  const [port] = await freePorts(1);
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return { port: port!, stop: () => server.forceShutdown(), received, direct: () => direct };
}

/** One call from a raw HTTP/2 client: its chunks written one by one, each once the last has gone. */
async function call(port: number, kase: string): Promise<Omit<Seen, 'messages' | 'ended'>> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const stream = session.request({ ':method': 'POST', ':path': SYNC_METHOD.path, 'content-type': 'application/grpc', te: 'trailers', 'x-case': kase });
    const done = new Promise<Omit<Seen, 'messages' | 'ended'>>((resolve, reject) => {
      let headers: Record<string, unknown> = {};
      let trailers: Record<string, unknown> | null = null;
      stream.on('response', (h) => {
        const { date: _date, ...rest } = h;
        headers = rest;
      });
      stream.on('trailers', (h) => {
        trailers = { ...h };
      });
      stream.on('data', () => undefined);
      stream.on('error', reject);
      stream.on('close', () => resolve({ headers, trailers }));
    });
    for (const chunk of CASES[kase]!) {
      if (stream.closed) break;
      await new Promise<void>((resolve) => stream.write(chunk, () => resolve()));
    }
    if (!stream.closed) stream.end();
    return await done;
  } finally {
    session.close();
  }
}

void t.test('read directly, a stream gives the same messages, end and statuses as through grpc-js', async (t) => {
  const seen: Record<Way, Record<string, Seen>> = { 'grpc-js': {}, direct: {} };
  for (const way of ['grpc-js', 'direct'] as const) {
    const server = await serve(way);
    t.teardown(server.stop);
    for (const kase of Object.keys(CASES)) {
      const answer = await call(server.port, kase);
      const got = server.received.get(kase) ?? { messages: [], ended: false, cancelled: false };
      seen[way][kase] = { ...answer, messages: [...got.messages], ended: got.ended };
    }
    t.equal(server.direct(), way === 'direct' ? Object.keys(CASES).length : 0, `${way}: ${way === 'direct' ? 'every call' : 'no call'} read directly`);
  }
  const expected = ['{"type":"pong","seq":7}', '{"type":"ack","nonce":41,"version":12}', JSON.stringify({ type: 'nack', nonce: 42, version: 12, error: 'x'.repeat(1500) }), '{"type":"ack","nonce":43,"version":13}'];
  // Through grpc-js every message says so; read directly, none does (an installed grpc-js whose
  // base call no longer reads through handleDataFrame would show here, not pass unseen).
  const viaGrpcJs = (kase: string): Seen => ({ ...seen['grpc-js'][kase]!, messages: seen['grpc-js'][kase]!.messages.map((m) => m.replace(/^through grpc-js: /, '')) });
  for (const kase of Object.keys(CASES)) {
    t.ok(
      seen['grpc-js'][kase]!.messages.every((m) => m.startsWith('through grpc-js: ')),
      `${kase}: the control run read through grpc-js`,
    );
    t.notOk(
      seen.direct[kase]!.messages.some((m) => m.startsWith('through grpc-js: ')),
      `${kase}: no message read directly came through grpc-js as well`,
    );
    t.same(seen.direct[kase], viaGrpcJs(kase), `${kase}: the same messages, end, headers and status as through grpc-js`);
  }
  for (const kase of ['whole', 'split']) {
    t.same(seen.direct[kase]!.messages, expected, `${kase}: every message, in order`);
    t.ok(seen.direct[kase]!.ended, `${kase}: the client's end reaches the handler`);
  }
  t.same(seen.direct.bytewise!.messages, expected.slice(0, 2), 'a byte a frame: both messages');
  t.same(seen.direct['flagged-compressed']!.messages, expected.slice(0, 2), 'the compression flag, on a request naming no encoding, read as grpc-js reads it');
  t.match(seen.direct['length-max']!.trailers ?? seen.direct['length-max']!.headers, { 'grpc-status': String(grpc.status.RESOURCE_EXHAUSTED), 'grpc-message': /4294967295/ });
  t.same(seen.direct['length-max']!.messages, expected.slice(0, 1), 'a length of 2^32-1: refused, what came before it kept');
  t.equal(seen.direct.empty!.messages.length, 3, 'an empty message, between two others');
  t.match(seen.direct.empty!.messages[1], /^malformed AGENT_MESSAGE_UNSPECIFIED/);
  t.same(seen.direct['end-mid-message']!.messages, expected.slice(0, 1), 'a half-sent message at the end: not delivered');
  t.ok(seen.direct['end-mid-message']!.ended, 'and the end reaches the handler');
  t.match(seen.direct['too-large']!.trailers ?? seen.direct['too-large']!.headers, { 'grpc-status': String(grpc.status.RESOURCE_EXHAUSTED) });
  t.match(seen.direct.undecodable!.trailers ?? seen.direct.undecodable!.headers, { 'grpc-status': String(grpc.status.INTERNAL), 'grpc-message': 'Error%20deserializing%20request' });
  for (const kase of ['too-large', 'undecodable']) {
    t.same(seen.direct[kase]!.messages, ['{"type":"pong","seq":7}'], `${kase}: what came before it, nothing after`);
  }
});

void t.test('a call without a filed base call (no guard on the server, a test call) is read through grpc-js', async (t) => {
  t.notOk(takeReads({}, () => undefined));
  t.notOk(takeReads({ metadata: new grpc.Metadata() }, () => undefined));
});

void t.test('message frames: split anywhere, several in a chunk, the limit as grpc-js words it', async (t) => {
  for (let cut = 1; cut < ALL.byteLength; cut += 37) {
    const frames = new MessageFrames(MAX_RECEIVE);
    const got = [...frames.take(ALL.subarray(0, cut)), ...frames.take(ALL.subarray(cut))];
    t.same(got, MESSAGES.map((m) => m.subarray(5)), `cut at ${cut}`);
  }
  const byByte = new MessageFrames(MAX_RECEIVE);
  const got: Buffer[] = [];
  for (let i = 0; i < ALL.byteLength; i++) got.push(...byByte.take(ALL.subarray(i, i + 1)));
  t.same(got, MESSAGES.map((m) => m.subarray(5)), 'a byte at a time');
  const shared = new MessageFrames(-1).take(MESSAGES[0]!)[0]!;
  t.not(shared.buffer, MESSAGES[0]!.buffer, 'each message in a buffer of its own');
  t.throws(() => new MessageFrames(10).take(grpcFramed(Buffer.alloc(11))), new MessageTooLargeError('Received message larger than max (11 vs 10)'));
  t.same(new MessageFrames(-1).take(grpcFramed(Buffer.alloc(0))), [Buffer.alloc(0)], 'an empty message');
});

void t.test("message frames: the next message's first bytes keep only their chunk, not the message before them joined", async (t) => {
  const big = grpcFramed(Buffer.alloc(1024 * 1024));
  const next = grpcFramed(Buffer.from([0x08, 0x07])).subarray(0, 6);
  const frames = new MessageFrames(-1);
  const chunks: Buffer[] = [];
  for (let at = 0; at < big.byteLength; at += 16_384) chunks.push(big.subarray(at, at + 16_384));
  chunks.push(Buffer.concat([chunks.pop()!, next]));
  const got = chunks.flatMap((c) => frames.take(Buffer.from(c)));
  t.equal(got.length, 1, 'the large message, whole');
  t.equal(got[0]!.byteLength, 1024 * 1024);
  // Before: the rest was a view of the 1 MiB buffer joined for the large message, kept whole
  // by 6 bytes while the port's budget for unfinished requests counted 6 (incomplete-requests.ts).
  t.ok(frames.retainedBytes <= 16_384 + next.byteLength, `what the unfinished message keeps: ${frames.retainedBytes} bytes, at most its chunk`);
  t.same(frames.take(Buffer.from([0x07])), [Buffer.from([0x08, 0x07])], 'and it completes as before');
});

void t.test('a reset with a message half sent: the messages before it, then the cancellation, read directly as through grpc-js', async (t) => {
  const seen: Partial<Record<Way, Received>> = {};
  for (const way of ['grpc-js', 'direct'] as const) {
    const server = await serve(way);
    t.teardown(server.stop);
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    t.teardown(() => session.destroy());
    const stream = session.request({ ':method': 'POST', ':path': SYNC_METHOD.path, 'content-type': 'application/grpc', te: 'trailers', 'x-case': 'reset' });
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    for (const chunk of [MESSAGES[0]!, MESSAGES[2]!.subarray(0, 700)]) await new Promise<void>((resolve) => stream.write(chunk, () => resolve()));
    await waitFor(() => (server.received.get('reset')?.messages.length ?? 0) > 0, `${way}: the first message`, 5_000);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => server.received.get('reset')?.cancelled === true, `${way}: the cancellation`, 5_000);
    seen[way] = server.received.get('reset')!;
    t.equal(server.direct(), way === 'direct' ? 1 : 0);
  }
  // (Node ends the stream's readable side at a reset too, so the handler hears an end either way.)
  t.match(seen.direct, { messages: ['{"type":"pong","seq":7}'], cancelled: true }, 'the message before the reset, not the half sent one, and the cancellation');
  t.same(seen.direct!.messages, seen['grpc-js']!.messages.map((m) => m.replace(/^through grpc-js: /, '')), 'as through grpc-js');
  t.same({ ...seen.direct, messages: [] }, { ...seen['grpc-js'], messages: [] }, 'the same end and cancellation as through grpc-js');
});
