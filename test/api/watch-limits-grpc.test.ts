/**
 * The watch limits on a real grpc-js server with the controller's first interceptors and the
 * Operator service's Watch handler fed by a real watch hub: a client past its cap is refused
 * RESOURCE_EXHAUSTED naming the cap, and watches that do not read cannot hold more than the
 * budget in their HTTP/2 buffers (the tracked undrained bytes), while a watch that reads gets
 * every change and is not cut off; and a stream the server resets is an error to ctl.
 */
import t, { type Test } from 'tap';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { ApiError, exitCodeFor } from '../../src/api/errors.js';
import { operatorMethod } from '../../src/api/operator-proto.js';
import { readServerStream } from '../../src/api/server-stream.js';
import { WATCH_CUT_OFF_RULE, streamFailure } from '../../src/api/stream-context.js';
import { cutOff } from '../../src/api/stream-writer.js';
import { watchHandler, watchMessageBytes } from '../../src/api/watch-handler.js';
import { WatchLimits, type WatchLimitsOptions } from '../../src/api/watch-limits.js';
import { WatchHub } from '../../src/node/watch-hub.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import type { ResetReason } from '../../src/transport/call-reset.js';
import { oneMessageRequests } from '../../src/transport/unended-requests.js';
import { waitFor } from '../helpers/wait-for.js';

const WATCH = operatorMethod('Watch');
const put = (key: string, value: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'put', key, value } as { kind: string });

interface Fixture {
  readonly port: number;
  readonly hub: WatchHub;
  readonly limits: WatchLimits;
  readonly cutOff: string[];
  readonly refused: string[];
  revision: number;
}

async function start(t: Test, opts: Partial<WatchLimitsOptions>): Promise<Fixture> {
  const hub = new WatchHub(0);
  const cutOff: string[] = [];
  const refused: string[] = [];
  const limits = new WatchLimits(opts, () => performance.now(), { refused: (r) => void refused.push(r), cutOff: (r) => void cutOff.push(r) });
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined }), oneMessageRequests] });
  server.addService({ Watch: WATCH }, { Watch: watchHandler(hub, limits) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return { port, hub, limits, cutOff, refused, revision: 0 };
}

function write(f: Fixture, key: string, value: string): void {
  f.revision += 1;
  f.hub.recordChange(f.revision, put(key, value));
}

/** A grpc-js client on a connection of its own (no shared subchannel). */
function client(t: Test, port: number): grpc.Client {
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  t.teardown(() => c.close());
  return c;
}

interface Watching {
  readonly call: grpc.ClientReadableStream<unknown>;
  readonly got: number[];
  error: grpc.ServiceError | null;
}

function watch(c: grpc.Client, prefix: string): Watching {
  const call = c.makeServerStreamRequest(WATCH.path, WATCH.requestSerialize, WATCH.responseDeserialize, { key: prefix, prefix: true, startRevision: 0 }, new grpc.Metadata(), {});
  const w: Watching = { call, got: [], error: null };
  call.on('data', (m: { revision: number | string }) => void w.got.push(Number(m.revision)));
  call.on('error', (err: grpc.ServiceError) => void (w.error = err));
  return w;
}

/** A raw HTTP/2 Watch whose client never reads: its stream's window closes after the first bytes. */
function unreadWatch(session: http2.ClientHttp2Session, prefix: string): { closed: boolean; rstCode: number } {
  const body = WATCH.requestSerialize({ key: prefix, prefix: true, startRevision: 0 });
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const stream = session.request({ ':method': 'POST', ':path': WATCH.path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(frame);
  stream.pause();
  const state = { closed: false, rstCode: -1 };
  stream.on('close', () => {
    state.closed = true;
    state.rstCode = stream.rstCode ?? -1;
  });
  stream.on('error', () => undefined);
  return state;
}

void t.test("a client past its cap is refused RESOURCE_EXHAUSTED naming the cap; another client is not, and a closed watch frees a place", async (t) => {
  const f = await start(t, { maxPerClient: 4 });
  const one = client(t, f.port);
  const mine = [0, 1, 2, 3].map(() => watch(one, 'k/'));
  await waitFor(() => f.limits.open === 4, 'four watches open');
  const fifth = watch(one, 'k/');
  await waitFor(() => fifth.error !== null, 'the fifth watch to be refused');
  t.equal(fifth.error!.code, grpc.status.RESOURCE_EXHAUSTED);
  t.match(fifth.error!.details, /^connection 127\.0\.0\.1:\d+ has 4 watches open on this controller, the most one client may \(4\); cancel one/);
  t.equal(fifth.error!.metadata.get('error-code')[0], 'RESOURCE_EXHAUSTED');
  t.strictSame(f.refused, ['per_client']);

  const other = watch(client(t, f.port), 'k/');
  await waitFor(() => f.limits.open === 5, "another connection's watch to open");
  t.equal(other.error, null);

  mine[0]!.call.cancel();
  await waitFor(() => f.limits.open === 4, 'the cancelled watch to be let go');
  const again = watch(one, 'k/');
  await waitFor(() => f.limits.open === 5, 'the first client to open one again');
  write(f, 'k/a', 'v');
  await waitFor(() => again.got.length === 1 && mine[1]!.got.length === 1 && other.got.length === 1, 'every open watch to get the change');
  t.equal(again.error, null);
});

void t.test('watches that do not read cannot hold more than the budget; a watch that reads gets every change and is not cut off', async (t) => {
  const MiB = 1024 * 1024;
  const budget = 4 * MiB;
  const f = await start(t, { maxPerClient: 64, budgetBytes: budget });
  const session = http2.connect(`http://127.0.0.1:${f.port}`);
  t.teardown(() => session.destroy());
  const UNREAD = 24;
  const unread = Array.from({ length: UNREAD }, () => unreadWatch(session, 'flood/'));
  const reader = watch(client(t, f.port), 'flood/');
  await waitFor(() => f.limits.open === UNREAD + 1, 'every watch to open');

  const value = 'x'.repeat(512 * 1024);
  const messageBytes = watchMessageBytes({ type: 'PUT', key: 'flood/0', value: new Uint8Array(value.length), revision: 1 });
  let most = 0;
  const sample = (): void => void (most = Math.max(most, f.limits.undrained));
  const sampler = setInterval(sample, 1);
  t.teardown(() => clearInterval(sampler));
  const PUTS = 10;
  for (let i = 0; i < PUTS; i++) {
    write(f, `flood/${i}`, value);
    sample();
    await waitFor(() => reader.got.length === i + 1, `the reader to get change ${i + 1}`);
    sample();
  }
  clearInterval(sampler);
  t.ok(most <= budget, `undrained bytes never past the budget: at most ${most} of ${budget}`);
  // Without the budget each unread watch would hold one message: 24 x 512 KiB = 12 MiB.
  t.ok(most > budget - 2 * messageBytes, `the unread watches did fill it (${most} bytes)`);
  t.strictSame(reader.got, Array.from({ length: PUTS }, (_, i) => i + 1), 'the reader got every change, in order');
  t.equal(reader.error, null, 'the reader was not cut off');
  const fit = Math.floor(budget / messageBytes);
  // The client never cancels: each stream closed was ended by the server.
  await waitFor(() => unread.filter((u) => u.closed).length >= UNREAD - fit, 'the cut-off streams to close');
  t.ok(f.cutOff.length >= UNREAD - fit, `${f.cutOff.length} cut off for the budget`);
  t.ok(f.cutOff.every((r) => r === 'budget'));
  const closed = unread.filter((u) => u.closed);
  t.ok(closed.every((u) => u.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), `each cut-off stream reset ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED to a gRPC client): ${closed.map((u) => u.rstCode).join(',')}`);
  t.equal(f.limits.open, 1 + UNREAD - f.cutOff.length, 'cut-off watches give their places back');
  t.ok(f.limits.undrained <= budget);
});

/** ctl's reading of a watch whose server writes one change, then resets the stream for `reason`. */
async function readUntilReset(t: Test, reason: ResetReason): Promise<{ readonly endpoint: string; readonly got: number; readonly err: unknown }> {
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined }), oneMessageRequests] });
  server.addService({ Watch: WATCH }, {
    Watch: (call: grpc.ServerWritableStream<object, object>) => {
      call.write({ type: 'PUT', key: 'k', value: Buffer.from('v'), revision: 1 }, () => cutOff(call as grpc.ServerWritableStream<unknown, unknown>, reason));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const endpoint = `127.0.0.1:${port}`;
  const ctx = { endpoint, channel: client(t, port), timeoutMs: 2000, streams: new Set<grpc.ClientReadableStream<unknown>>(), closed: () => false };
  let got = 0;
  const err = await readServerStream(ctx, { method: WATCH, request: { key: 'k', prefix: false, startRevision: 0 }, decode: (raw) => raw, idleTimeoutMs: null, what: 'the watch', cutOffRule: WATCH_CUT_OFF_RULE }, () => void got++).then(
    () => null,
    (e: unknown) => e,
  );
  return { endpoint, got, err };
}

void t.test("a stream the server resets is an error to ctl (UNREACHABLE, naming the reset), not a normal end", async (t) => {
  const { endpoint, got, err } = await readUntilReset(t, 'cancel');
  t.equal(got, 1);
  t.ok(err instanceof ApiError, 'an error');
  t.match(err, { code: 'UNREACHABLE', message: `${endpoint} reset the watch after 1 messages` });
});

void t.test('a stream the server cuts off to bound its memory is RESOURCE_EXHAUSTED to ctl (exit 1), saying why', async (t) => {
  const { endpoint, got, err } = await readUntilReset(t, 'exhausted');
  t.equal(got, 1);
  t.ok(err instanceof ApiError, 'an error');
  t.match(err, { code: 'RESOURCE_EXHAUSTED', message: new RegExp(`^${endpoint} cut off the watch after 1 messages to bound its memory \\(.+\\): a controller cuts off the watch whose changes have waited longest unread`) });
  t.equal(exitCodeFor(err), 1, 'exit 1, as a watch refused at a cap');
});

void t.test("a message over ctl's own receive limit is not taken for a cut-off", async (t) => {
  const channel = new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure());
  t.teardown(() => channel.close());
  const ctx = { endpoint: '127.0.0.1:1', channel, timeoutMs: 2000, streams: new Set<grpc.ClientReadableStream<unknown>>(), closed: () => false };
  const tooLarge = Object.assign(new Error('8: Received message larger than max (70000000 vs 67108864)'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (70000000 vs 67108864)', metadata: new grpc.Metadata() });
  const failure = streamFailure(tooLarge, ctx, { aborted: false, delivered: 2, what: 'the watch', cutOffRule: WATCH_CUT_OFF_RULE });
  t.notMatch(String(failure instanceof Error ? failure.message : failure), /cut off/, 'not described as a cut-off');
  const reset = Object.assign(new Error('8: Bandwidth exhausted or memory limit exceeded'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded', metadata: new grpc.Metadata() });
  t.match(streamFailure(reset, ctx, { aborted: false, delivered: 2, what: 'the watch', cutOffRule: WATCH_CUT_OFF_RULE }), { code: 'RESOURCE_EXHAUSTED', message: /cut off the watch after 2 messages/ });
});
