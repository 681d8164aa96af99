/**
 * IncompleteRequests (src/transport/incomplete-requests.ts): request bytes counted by the gRPC
 * framing as they arrive; unfinished messages held to a budget (the one waiting longest is
 * reset), and one that stops arriving reset after the stall time. attack round 10: 1,500 unary
 * calls sent all but their last byte took a leader to 4.5 GB.
 */
import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { directStream, takeMessages } from '../../src/transport/direct-messages.js';
import { reportHeldReads } from '../../src/transport/held-reads.js';
import { FrameProgress, HELD_CHUNK_COST_BYTES, IncompleteRequests, MAX_UNREAD_CHUNKS, type IncompleteCut } from '../../src/transport/incomplete-requests.js';
import { RawH2Client } from '../helpers/h2-raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** A gRPC frame: the 5-byte prefix announcing `announced` bytes, then `body` bytes of it. */
function frame(announced: number, body = announced): Buffer {
  const b = Buffer.alloc(5 + body, 0x61);
  b[0] = 0;
  b.writeUInt32BE(announced, 1);
  return b;
}

void t.test('FrameProgress follows messages across any split of the bytes', async (t) => {
  const whole = Buffer.concat([frame(10), frame(0), frame(300)]);
  for (const step of [1, 2, 3, 5, 7, 64, whole.length]) {
    const p = new FrameProgress();
    let held = 0;
    let most = 0;
    for (let at = 0; at < whole.length; at += step) {
      held += p.take(whole.subarray(at, at + step));
      most = Math.max(most, p.pending);
      if (held !== p.cost) t.fail(`step ${step}: the deltas add up to the cost`);
      if (p.cost !== p.pending + p.heldChunks * HELD_CHUNK_COST_BYTES) t.fail(`step ${step}: the cost is the bytes and the chunks held`);
    }
    t.equal(p.cost, 0, `step ${step}: nothing pending once every message is whole`);
    t.equal(p.completed, 3, `step ${step}: three messages, the empty one included`);
    t.ok(most <= 305, `step ${step}: never more than the largest message's bytes held (${most})`);
  }
  const partial = new FrameProgress();
  partial.take(frame(1000, 600));
  t.equal(partial.pending, 605, 'an unfinished message: its prefix and what came of it');
  t.equal(partial.cost, 605 + HELD_CHUNK_COST_BYTES, 'and the chunk it came in');
});

void t.test('a message sent a byte a chunk costs each chunk, not just its byte', async (t) => {
  // Session 61: counted by bytes alone, 8 MB of messages sent a byte a DATA frame took a
  // follower from 84 MB to 1.36 GB (each chunk is a Buffer kept until the message is whole).
  const p = new FrameProgress();
  p.take(frame(1_000_000, 0));
  for (let i = 0; i < 1000; i++) p.take(Buffer.alloc(1, 0x61));
  t.equal(p.pending, 1005);
  t.equal(p.heldChunks, 1001, 'the prefix chunk and a thousand of one byte');
  t.equal(p.cost, 1005 + 1001 * HELD_CHUNK_COST_BYTES);
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const held = new IncompleteRequests({ budgetBytes: 64 * 1024, stallMs: 30_000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  const [trickle, whole] = [new FakeStream(), new FakeStream()];
  for (const s of [trickle, whole]) held.watch(s as unknown as http2.ServerHttp2Stream);
  trickle.emit('data', frame(1_000_000, 0));
  let sent = 0;
  while (trickle.rstCode === null && sent < 64 * 1024) {
    now += 1;
    trickle.emit('data', Buffer.alloc(1, 0x61));
    sent += 1;
  }
  t.equal(trickle.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'reset past the budget');
  t.ok(sent <= Math.ceil((64 * 1024) / HELD_CHUNK_COST_BYTES), `after ${sent} one-byte chunks, not 64 KiB of them`);
  t.same(cuts, ['budget']);
  whole.emit('data', frame(60 * 1024));
  t.equal(whole.rstCode, null, 'a whole message beside it is not');
  t.equal(held.pendingBytes, 0);
});

/** A stand-in for an HTTP/2 stream: 'data' and 'close', and close(code) recorded. */
class FakeStream extends EventEmitter {
  closed = false;
  destroyed = false;
  rstCode: number | null = null;
  close(code: number): void {
    this.closed = true;
    this.rstCode = code;
    this.emit('close');
  }
}

void t.test('past the budget the stream whose unfinished message waited longest is reset; whole messages cost nothing', async (t) => {
  let now = 0;
  const cuts: IncompleteCut[] = [];
  // Each unfinished message costs its bytes and HELD_CHUNK_COST_BYTES (256) for the chunk it came in.
  const held = new IncompleteRequests({ budgetBytes: 1400, stallMs: 10_000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  const [a, b, c] = [new FakeStream(), new FakeStream(), new FakeStream()];
  for (const s of [a, b, c]) held.watch(s as unknown as http2.ServerHttp2Stream);
  a.emit('data', frame(900, 400));
  now = 10;
  b.emit('data', frame(900, 400));
  now = 20;
  c.emit('data', Buffer.concat([frame(5000), frame(100)]));
  t.equal(held.pendingBytes, 2 * (405 + 256), 'whole messages are not counted');
  c.emit('data', frame(900, 300));
  t.same(cuts, ['budget'], 'one reset brought it under the budget');
  t.equal(a.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'the oldest unfinished one, with ENHANCE_YOUR_CALM');
  t.equal(b.rstCode, null);
  t.equal(held.pendingBytes, 405 + 305 + 2 * 256);
  b.emit('data', Buffer.alloc(500, 0x61));
  t.equal(held.pendingBytes, 305 + 256, "b's message completed: its bytes and chunks are let go");
  c.emit('close');
  t.equal(held.pendingBytes, 0, 'a closed stream is forgotten');
  t.equal(held.streams, 1);
});

void t.test('a message that stops arriving is reset once it has had no byte for the stall time; a slow one that moves is not', async (t) => {
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const held = new IncompleteRequests({ budgetBytes: 1 << 30, stallMs: 1000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  const [stuck, slow, idle] = [new FakeStream(), new FakeStream(), new FakeStream()];
  for (const s of [stuck, slow, idle]) held.watch(s as unknown as http2.ServerHttp2Stream);
  stuck.emit('data', frame(100, 10));
  slow.emit('data', frame(100, 10));
  idle.emit('data', frame(10));
  for (now = 500; now <= 2500; now += 500) {
    slow.emit('data', Buffer.alloc(1, 0x61));
    held.sweep();
  }
  t.equal(stuck.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'the stalled one');
  t.equal(slow.rstCode, null, 'the slow one, a byte every 500 ms');
  t.equal(idle.rstCode, null, 'a stream between messages is never stalled');
  t.same(cuts, ['stalled']);
});

void t.test('the time the server itself stops reading a stream does not count toward its stall', async (t) => {
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const held = new IncompleteRequests({ budgetBytes: 1 << 30, stallMs: 1000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  const [paused, stuck] = [new FakeStream(), new FakeStream()];
  for (const s of [paused, stuck]) held.watch(s as unknown as http2.ServerHttp2Stream);
  paused.emit('data', frame(100, 10));
  stuck.emit('data', frame(100, 10));
  now = 400;
  reportHeldReads(paused as unknown as http2.ServerHttp2Stream, true);
  now = 5000;
  held.sweep();
  t.equal(paused.rstCode, null, 'held by the server for 4.6 s: not stalled');
  t.equal(stuck.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'one the client stopped: stalled');
  reportHeldReads(paused as unknown as http2.ServerHttp2Stream, false);
  now = 5500;
  held.sweep();
  t.equal(paused.rstCode, null, '400 ms before the hold and 500 ms after: under the stall time');
  now = 5600;
  held.sweep();
  t.equal(paused.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'past it once reads resumed and no byte came');
  t.same(cuts, ['stalled', 'stalled']);
});

/** A unary echo service (it answers the request's length) behind the call guard watching `incomplete`. */
async function echoServer(incomplete: IncompleteRequests): Promise<{ server: grpc.Server; echo: grpc.MethodDefinition<Buffer, Buffer>; port: number }> {
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined, incomplete })] });
  const echo: grpc.MethodDefinition<Buffer, Buffer> = { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
  server.addService({ Echo: echo }, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`${call.request.length}`)) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { server, echo, port };
}

void t.test('on a real server: unfinished requests past the budget are reset, a whole call is answered', async (t) => {
  const cuts: IncompleteCut[] = [];
  const incomplete = new IncompleteRequests({ budgetBytes: 256 * 1024, stallMs: 60_000, maxCalls: 100 }, () => performance.now(), (r) => void cuts.push(r));
  const { server, echo, port } = await echoServer(incomplete);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    client.close();
    session.destroy();
    server.forceShutdown();
  });
  // Five calls announcing 1 MiB each, 100 KiB of it sent, never finished.
  const codes: (number | null)[] = [];
  for (let i = 0; i < 5; i++) {
    const req = session.request({ ':method': 'POST', ':path': echo.path, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.on('close', () => void (codes[i] = req.rstCode));
    req.write(frame(1024 * 1024, 100 * 1024));
    codes.push(null);
  }
  await waitFor(() => cuts.length >= 3, 'the oldest unfinished calls reset for the budget', 10000);
  t.ok(incomplete.pendingBytes <= 256 * 1024, `what is held stays within the budget (${incomplete.pendingBytes})`);
  await waitFor(() => codes.filter((c) => c === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM).length >= 3, 'the client to see the resets', 10000);
  const answer = await new Promise<string>((resolve, reject) => client.makeUnaryRequest(echo.path, echo.requestSerialize, echo.responseDeserialize, Buffer.alloc(200 * 1024), (e, v) => (e ? reject(e) : resolve(v!.toString()))));
  t.equal(answer, String(200 * 1024), 'a whole call of 200 KiB is answered beside them');
});

void t.test('on a real server: a message sent a byte a DATA frame is reset once its chunks pass the budget', async (t) => {
  const cuts: IncompleteCut[] = [];
  const incomplete = new IncompleteRequests({ budgetBytes: 256 * 1024, stallMs: 60_000, maxCalls: 100 }, () => performance.now(), (r) => void cuts.push(r));
  const { server, echo, port } = await echoServer(incomplete);
  const raw = await RawH2Client.connect('127.0.0.1', port);
  t.teardown(() => {
    raw.close();
    server.forceShutdown();
  });
  // 4,000 bytes of a 1 MiB message, within the stream's window: each arrives as a chunk of its own.
  raw.trickle(echo.path, 1024 * 1024, 4000);
  await waitFor(() => raw.seen.resets.includes(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), 'the trickling call reset for the budget (4,000 bytes counted alone are 2% of it)', 10000);
  t.same(cuts, ['budget']);
  t.equal(incomplete.pendingBytes, 0, 'nothing held once it is reset');
});

void t.test('on a real server: a stream the server stopped reading is reset once more than MAX_UNREAD_CHUNKS wait in its read buffer', async (t) => {
  const cuts: IncompleteCut[] = [];
  const incomplete = new IncompleteRequests({ budgetBytes: 256 * 1024, stallMs: 60_000, maxCalls: 100 }, () => performance.now(), (r) => void cuts.push(r));
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined, incomplete })] });
  const chat: grpc.MethodDefinition<Buffer, Buffer> = { path: '/test.Chat/Chat', requestStream: true, responseStream: true, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
  const taken: Buffer[] = [];
  // The handler stops reading its HTTP/2 stream after the first message, as a KvSession holding its answers' budget does.
  server.addService({ Chat: chat }, {
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('error', () => undefined);
      const direct = directStream(call);
      const reads = takeMessages(call, (b) => b, (b: Buffer) => {
        taken.push(b);
        direct?.pause();
      });
      if (direct === null || !reads) throw new Error('expected the guard to have filed the call and its stream');
      call.on('data', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const raw = await RawH2Client.connect('127.0.0.1', port);
  t.teardown(() => {
    raw.close();
    server.forceShutdown();
  });
  // A message, whole, then 20,000 bytes of another a byte a DATA frame (within the window):
  // 20,000 Buffers in the read buffer, and 20 KB, which the budget of 256 KiB would never cut.
  const message = Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]);
  const id = raw.trickle(chat.path, 1024 * 1024, 0, message);
  await waitFor(() => taken.length === 1, 'the first message taken, and the stream paused', 10000);
  raw.oneByteFrames(id, 20_000);
  await waitFor(() => raw.seen.resets.includes(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), `the stream reset once ${MAX_UNREAD_CHUNKS} chunks waited unread`, 10000);
  t.same(taken.map((b) => b.toString()), ['hi'], 'its first message was taken, then the server stopped reading');
  t.same(cuts, ['chunks']);
  t.equal(incomplete.streams, 0, 'nothing held once it is reset');
});

void t.test('an honest paused stream: chunks read one at a time, an empty read buffer counting none', async (t) => {
  const cuts: IncompleteCut[] = [];
  const held = new IncompleteRequests({ budgetBytes: 1 << 30, stallMs: 30_000, maxCalls: 100 }, () => 0, (r) => void cuts.push(r));
  const { PassThrough } = await import('node:stream');
  // A stream read as HTTP/2's is, reset with close(code).
  const s = Object.assign(new PassThrough(), { close: () => undefined });
  held.watch(s as unknown as http2.ServerHttp2Stream);
  s.on('data', () => undefined);
  // Flowing: each chunk read as it comes, however many.
  for (let i = 0; i < 3 * MAX_UNREAD_CHUNKS; i++) s.push(Buffer.from([0]));
  t.same(cuts, [], 'chunks read as they come are never unread');
  // Paused: up to the bound waits, then read again.
  s.pause();
  for (let i = 0; i < MAX_UNREAD_CHUNKS; i++) s.push(Buffer.from([0]));
  t.same(cuts, [], 'at the bound, not past it');
  s.resume();
  await waitFor(() => s.readableLength === 0, 'the buffer read', 5000);
  s.pause();
  for (let i = 0; i < MAX_UNREAD_CHUNKS; i++) s.push(Buffer.from([0]));
  t.same(cuts, [], 'once read, a full bound again');
  s.push(Buffer.from([0]));
  t.same(cuts, ['chunks'], 'one past it is cut');
});

void t.test('every call is stalled from its start until a message is whole; between messages a streaming call may wait', async (t) => {
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const held = new IncompleteRequests({ budgetBytes: 100, stallMs: 1000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  const [silent, answered, silentStreaming, streaming, big] = [new FakeStream(), new FakeStream(), new FakeStream(), new FakeStream(), new FakeStream()];
  for (const s of [silent, answered, silentStreaming, streaming, big]) held.watch(s as unknown as http2.ServerHttp2Stream);
  answered.emit('data', frame(10));
  streaming.emit('data', frame(10));
  now = 10;
  big.emit('data', frame(1000, 200));
  t.equal(silent.rstCode, null, 'a call holding no bytes is not cut for the budget');
  t.equal(big.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'the one past the budget is');
  now = 999;
  held.sweep();
  t.equal(silent.rstCode, null, 'not before the stall time');
  now = 1000;
  held.sweep();
  t.equal(silent.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'a call whose one message never came is reset');
  // Before (attack round 15), a streaming call was not stalled before its first message: KvSessions that sent none were held for good.
  t.equal(silentStreaming.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'so is a streaming call that never sent its first');
  t.equal(answered.rstCode, null, 'one whose message came whole is not, however long its handler takes');
  t.equal(streaming.rstCode, null, 'nor a streaming call waiting between its messages');
  t.same(cuts, ['budget', 'stalled', 'stalled']);
});

void t.test('past the calls cap, the call that has gone longest without a byte is reset; one whose message keeps arriving is not', async (t) => {
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const held = new IncompleteRequests({ budgetBytes: 1 << 30, stallMs: 30_000, maxCalls: 3 }, () => now, (r) => void cuts.push(r));
  const [big, a, b, c, d, e] = [new FakeStream(), new FakeStream(), new FakeStream(), new FakeStream(), new FakeStream(), new FakeStream()];
  held.watch(big as unknown as http2.ServerHttp2Stream);
  big.emit('data', frame(1_000_000, 1000));
  now = 10;
  held.watch(a as unknown as http2.ServerHttp2Stream);
  now = 20;
  held.watch(b as unknown as http2.ServerHttp2Stream);
  b.emit('data', frame(10));
  t.equal(held.awaiting, 2, "b's message came whole: it awaits nothing");
  now = 30;
  held.watch(c as unknown as http2.ServerHttp2Stream);
  t.same(cuts, [], 'three awaiting: at the cap, not past it');
  // The big message, begun first, goes on arriving; a and c send nothing.
  now = 40;
  big.emit('data', Buffer.alloc(1000, 0x61));
  now = 50;
  held.watch(d as unknown as http2.ServerHttp2Stream);
  t.same(cuts, ['calls'], 'the fourth awaiting is one too many');
  t.equal(a.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'a, silent since 10, is reset');
  t.equal(big.rstCode, null, 'not the big message begun before it, which had a byte at 40');
  // One byte of c's message: it still awaits the rest, but was heard last.
  now = 60;
  c.emit('data', Buffer.alloc(1));
  now = 70;
  held.watch(e as unknown as http2.ServerHttp2Stream);
  t.same(cuts, ['calls', 'calls']);
  t.equal(big.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'now the big message, silent since 40, goes');
  t.equal(c.rstCode, null, 'c, heard at 60, stays');
  t.equal(d.rstCode, null);
  t.equal(held.awaiting, 3);
});

void t.test('on a real server: header-only calls are held to the stream cap per connection, then reset as stalled', async (t) => {
  const cap = 16;
  let now = 0;
  const cuts: IncompleteCut[] = [];
  const incomplete = new IncompleteRequests({ budgetBytes: 1 << 20, stallMs: 1000, maxCalls: 100 }, () => now, (r) => void cuts.push(r));
  let most = 0;
  const meter: grpc.ServerInterceptor = (_m, call) => {
    most = Math.max(most, incomplete.streams);
    return new grpc.ServerInterceptingCall(call);
  };
  const guard = baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined, incomplete });
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': cap, interceptors: [guard, meter] });
  const echo: grpc.MethodDefinition<Buffer, Buffer> = { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
  server.addService({ Echo: echo }, { Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(0)) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  t.teardown(() => {
    session.destroy();
    server.forceShutdown();
  });
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
  t.equal(settings.maxConcurrentStreams, cap, 'the server announces its cap');
  const calls = 40;
  const codes: number[] = [];
  for (let i = 0; i < calls; i++) {
    // Headers only: the request message never comes.
    const req = session.request({ ':method': 'POST', ':path': echo.path, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.on('close', () => void codes.push(req.rstCode ?? -1));
  }
  while (codes.length < calls) {
    await waitFor(() => incomplete.streams === Math.min(cap, calls - codes.length), 'the server to hold as many calls as the cap lets in', 10000);
    now += 1000;
    const before = cuts.length;
    incomplete.sweep();
    if (cuts.length === before) break;
    const expected = cuts.length;
    await waitFor(() => codes.length >= expected, 'the client to see the resets', 10000);
  }
  t.equal(most, cap, `never more than ${cap} calls at once on the connection`);
  t.equal(cuts.length, calls, 'every header-only call reset as stalled');
  t.ok(codes.every((c) => c === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), 'each with ENHANCE_YOUR_CALM');
});
