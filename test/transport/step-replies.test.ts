/**
 * Answers carried back in StepAcks (reply-desk.ts, proto/peer.proto StepAck.reply): the
 * receiver of a batch may hold its ack for a short while and put its own messages for the
 * sender in it. Checked on both sides, with peers that lie, break the framing, send too much,
 * or are older and only ever send empty acks.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { HeartbeatResp, Message } from '../../src/raft/messages.js';
import type { OutgoingBatch } from '../../src/transport/batch-codec.js';
import { stepMethod, type OutgoingAck } from '../../src/transport/peer-methods.js';
import { ReplyDesk, type AckStream } from '../../src/transport/reply-desk.js';
import { waitFor } from '../helpers/wait-for.js';
import { bind, startNode, type TestNode } from './harness.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];
type Raw = Record<string, unknown>;

const heartbeat = (from: string, to: string, commit: number): Message => ({ type: 'Heartbeat', from, to, term: 1, commit, context: '' });
const heartbeatResp = (from: string, to: string, context = ''): HeartbeatResp => ({ type: 'HeartbeatResp', from, to, term: 1, context });
const envelope = { clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' };
const replyBatch = (messages: readonly Message[], over: Partial<OutgoingBatch> = {}): OutgoingBatch => ({ cluster: 'test', from: 'n2', to: 'n1', messages, ...envelope, ...over });

/**
 * A peer serving only StepStream, written by hand: `onBatch` sees each batch as decoded and
 * writes whatever acks it likes; `serialize` may replace the ack encoder (to send broken bytes).
 */
async function stepPeer(t: Test, onBatch: (call: grpc.ServerDuplexStream<Raw, unknown>, batch: Raw) => void, serialize?: (ack: unknown) => Buffer): Promise<string> {
  const server = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const m = stepMethod('StepStream');
  const definition = { StepStream: { ...m, responseSerialize: serialize ?? m.responseSerialize } } as grpc.ServiceDefinition;
  server.addService(definition, {
    StepStream: (call: grpc.ServerDuplexStream<Raw, unknown>) => {
      call.on('data', (batch: Raw) => onBatch(call, batch));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await bind(server, grpc.ServerCredentials.createInsecure());
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

async function sender(t: Test, peerAddress: string, options: Parameters<typeof startNode>[0]['options'] = {}): Promise<TestNode> {
  const n1 = await startNode({ id: 'n1', options });
  t.teardown(() => n1.stop());
  n1.transport.setPeer('n2', peerAddress);
  return n1;
}

void t.test('a receiver that holds its acks answers in them: one message back per batch', async (t) => {
  let n2: TestNode | null = null;
  n2 = await startNode({
    id: 'n2',
    options: {
      replyHoldMs: 60_000,
      // The node answers each heartbeat at once, as a Raft follower does.
      onMessage: (m) => n2?.transport.send([heartbeatResp('n2', m.from, `re-${m.type === 'Heartbeat' ? m.commit : -1}`)]),
    },
  });
  t.teardown(() => n2?.stop());
  const n1 = await sender(t, n2.address);
  // n2 knows no address for n1: an answer that did not ride in an ack would be dropped.
  for (let i = 0; i < 5; i++) {
    n1.transport.send([heartbeat('n1', 'n2', i)]);
    await waitFor(() => n1.received.length === i + 1, `the answer to batch ${i}`);
  }
  t.strictSame(
    n1.received.map((m) => (m.type === 'HeartbeatResp' ? m.context : m.type)),
    ['re-0', 're-1', 're-2', 're-3', 're-4'],
    'every answer came back in the ack of its batch',
  );
  t.strictSame(n1.transport.stats(), { sent: 5, dropped: 0, refused: 0 }, 'every batch acknowledged');
  t.strictSame(n2.transport.stats(), { sent: 5, dropped: 0, refused: 0 }, 'the answers count as sent by the receiver');
});

void t.test('a held ack goes back empty when the node releases it, or when the hold ends', async (t) => {
  const held = await startNode({ id: 'n2', options: { replyHoldMs: 60_000 } });
  t.teardown(() => held.stop());
  const n1 = await sender(t, held.address);
  n1.transport.send([heartbeat('n1', 'n2', 1)]);
  await waitFor(() => held.received.length === 1, 'delivery');
  t.equal(n1.transport.stats().sent, 0, 'the ack is held while the node may still answer');
  held.transport.releaseReplies();
  await waitFor(() => n1.transport.stats().sent === 1, 'the released ack');
  t.equal(n1.received.length, 0, 'an empty ack carries nothing');

  const brief = await startNode({ id: 'n3', options: { replyHoldMs: 20 } });
  t.teardown(() => brief.stop());
  n1.transport.setPeer('n3', brief.address);
  n1.transport.send([heartbeat('n1', 'n3', 1)]);
  await waitFor(() => n1.transport.stats().sent === 2, 'the ack after its hold ended, with nobody releasing it');
});

void t.test('a second batch while the first ack is held: the first is acknowledged empty, the answer rides the second', async (t) => {
  const acks: (OutgoingBatch | null)[] = [];
  const stream: AckStream = { cancelled: false, write: (a: OutgoingAck) => acks.push(a.reply) };
  const desk = new ReplyDesk({ holdMs: 60_000, budgetBytes: 1000, envelope: (peer, messages) => replyBatch(messages, { to: peer }), onCarried: () => undefined });
  desk.owe('n1', stream);
  desk.owe('n1', stream);
  t.strictSame(acks, [null], 'the older ack went, empty, in order');
  t.strictSame(desk.carry('n1', [heartbeatResp('n2', 'n1')]), [], 'carried');
  t.equal(acks.length, 2);
  t.strictSame(acks[1]?.messages, [heartbeatResp('n2', 'n1')]);
  t.strictSame(desk.carry('n1', [heartbeatResp('n2', 'n1')]), [heartbeatResp('n2', 'n1')], 'no ack owed: the link takes it');
  desk.close();
});

void t.test('what does not fit in a reply, and snapshots, go on the link', async (t) => {
  const acks: (OutgoingBatch | null)[] = [];
  const stream: AckStream = { cancelled: false, write: (a: OutgoingAck) => acks.push(a.reply) };
  const desk = new ReplyDesk({ holdMs: 60_000, budgetBytes: 200, envelope: (peer, messages) => replyBatch(messages, { to: peer }), onCarried: () => undefined });
  const big: Message = { type: 'Append', from: 'n2', to: 'n1', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, commitOnly: false, entries: [{ term: 1, index: 1, kind: 'normal', data: new Uint8Array(500) }] };
  desk.owe('n1', stream);
  t.strictSame(desk.carry('n1', [big]), [big], 'a message above the budget is not carried');
  t.equal(acks.length, 0, 'and the ack is still owed');
  const small = heartbeatResp('n2', 'n1');
  t.strictSame(desk.carry('n1', [small, big, small]), [big, small], 'the prefix that fits is carried, in order');
  t.strictSame(acks[0]?.messages, [small]);
  const snapshot: Message = { type: 'InstallSnapshot', from: 'n2', to: 'n1', term: 1, snapshot: { meta: { index: 1, term: 1, conf: { voters: ['n1'], learners: [] } }, data: new Uint8Array(0) } };
  desk.owe('n1', stream);
  t.strictSame(desk.carry('n1', [snapshot]), [snapshot], 'a snapshot has its own stream');
  desk.forget(stream);
  t.strictSame(desk.carry('n1', [small]), [small], 'a forgotten stream is owed nothing');
  t.equal(acks.length, 1, 'and gets nothing');
  desk.close();
});

void t.test('an older peer that only sends empty acks: batches acknowledged, nothing delivered back', async (t) => {
  const asked: unknown[] = [];
  const address = await stepPeer(t, (call, batch) => {
    asked.push(batch['replies']);
    call.write({});
  });
  const n1 = await sender(t, address);
  for (let i = 0; i < 3; i++) n1.transport.send([heartbeat('n1', 'n2', i)]);
  await waitFor(() => n1.transport.stats().sent === 3, 'every batch acknowledged');
  t.ok(asked.length > 0 && asked.every((r) => r === true), 'each stream batch asks for replies; an older peer ignores the flag');
  t.equal(n1.received.length, 0);
  t.strictSame(n1.transport.stats(), { sent: 3, dropped: 0, refused: 0 });
});

void t.test('a reply in an ack is delivered after the same checks as a batch', async (t) => {
  const address = await stepPeer(t, (call) => call.write({ reply: replyBatch([heartbeatResp('n2', 'n1', 'ok')]) }));
  const n1 = await sender(t, address);
  n1.transport.send([heartbeat('n1', 'n2', 1)]);
  await waitFor(() => n1.received.length === 1, 'the reply delivered');
  t.strictSame(n1.received, [heartbeatResp('n2', 'n1', 'ok')]);
  t.strictSame(n1.transport.stats(), { sent: 1, dropped: 0, refused: 0 });
});

void t.test('a lying reply is refused and counted; the batch it acknowledged still counts', async (t) => {
  const lies: OutgoingBatch[] = [
    replyBatch([heartbeatResp('n2', 'n1')], { from: 'n3' }),
    replyBatch([heartbeatResp('n2', 'n1')], { to: 'n9' }),
    replyBatch([heartbeatResp('n2', 'n1')], { cluster: 'other' }),
    replyBatch([heartbeatResp('n3', 'n1')]),
  ];
  let k = 0;
  const address = await stepPeer(t, (call) => call.write({ reply: lies[k++] ?? null }));
  const n1 = await sender(t, address);
  for (let i = 0; i < lies.length; i++) {
    n1.transport.send([heartbeat('n1', 'n2', i)]);
    await waitFor(() => n1.transport.stats().sent === i + 1, `batch ${i} acknowledged`);
  }
  t.equal(n1.received.length, 0, 'nothing delivered');
  t.equal(n1.transport.stats().refused, lies.length, 'each refused');
  t.equal(n1.transport.stats().dropped, 0);
  // Warnings are rate-limited per sender and status: the first one is logged.
  t.match(n1.warnings[0]?.msg, /reply: expected from="n2", found "n3"/, 'the warning names the cause');
});

void t.test('a reply with broken framing ends the stream: the batch is lost, the next goes on a new stream', async (t) => {
  let streams = 0;
  const seen = new Set<unknown>();
  const good = stepMethod('StepStream').responseSerialize;
  const address = await stepPeer(
    t,
    (call, batch) => {
      if (!seen.has(call)) {
        seen.add(call);
        streams += 1;
      }
      // The first stream answers with broken bytes; later ones with empty acks.
      call.write(streams === 1 ? 'broken' : {});
      void batch;
    },
    (ack) => (ack === 'broken' ? Buffer.from([0x0a, 0x05, 0x01]) : good(ack)),
  );
  const n1 = await sender(t, address);
  n1.transport.send([heartbeat('n1', 'n2', 1)]);
  await waitFor(() => n1.transport.stats().dropped === 1, 'the batch lost with its stream');
  t.strictSame(n1.unreachable, ['n2'], 'reported once');
  n1.transport.send([heartbeat('n1', 'n2', 2)]);
  await waitFor(() => n1.transport.stats().sent === 1, 'the next batch acknowledged on a new stream');
  t.equal(streams, 2);
  t.equal(n1.received.length, 0);
  t.match(n1.warnings.map((w) => w.msg).join('\n'), /Step failed: INTERNAL/, 'the warning names the failure');
});

void t.test('a reply above the message size limit is refused by gRPC: nothing delivered, the link goes on', async (t) => {
  const huge: Message = { type: 'Append', from: 'n2', to: 'n1', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, commitOnly: false, entries: [{ term: 1, index: 1, kind: 'normal', data: new Uint8Array(200_000) }] };
  let k = 0;
  const address = await stepPeer(t, (call) => call.write(k++ === 0 ? { reply: replyBatch([huge]) } : {}));
  // This sender allows 64 KiB per message.
  const small = await startNode({ id: 'n1', maxMessageBytes: 64 * 1024 });
  t.teardown(() => small.stop());
  small.transport.setPeer('n2', address);
  small.transport.send([heartbeat('n1', 'n2', 1)]);
  await waitFor(() => small.transport.stats().dropped === 1, 'the batch lost with its stream');
  t.equal(small.received.length, 0, 'nothing of the oversized reply delivered');
  t.match(small.warnings.map((w) => w.msg).join('\n'), /RESOURCE_EXHAUSTED/, 'the warning names the limit');
  small.transport.send([heartbeat('n1', 'n2', 2)]);
  await waitFor(() => small.transport.stats().sent === 1, 'the next batch acknowledged on a new stream');
});

/** Answers and acks through a receiver with the controllers' guard (read and acked straight on the HTTP/2 stream) or without it (through grpc-js). */
async function exchange(t: Test, guard: boolean, replyHoldMs: number): Promise<{ answers: string[]; sent: object; received: object; readByGrpc: number; sentByGrpc: object }> {
  let n2: TestNode | null = null;
  n2 = await startNode({ id: 'n2', guard, options: { replyHoldMs, onMessage: (m) => n2?.transport.send([heartbeatResp('n2', m.from, `re-${m.type === 'Heartbeat' ? m.commit : -1}`)]) } });
  t.teardown(() => n2?.stop());
  // n2 knows n1's address only when the acks go empty: its answers then take its own link.
  const n1 = await sender(t, n2.address);
  if (replyHoldMs === 0) n2.transport.setPeer('n1', n1.address);
  for (let i = 0; i < 4; i++) {
    n1.transport.send([heartbeat('n1', 'n2', i)]);
    await waitFor(() => n1.received.length === i + 1, `the answer to batch ${i}`);
  }
  // With acks going empty, an answer (on n2's link) and the ack of its batch (on n1's) cross on two
  // connections, and either side may count its last batch a moment after n1 has the answer.
  await waitFor(() => n1.transport.stats().sent === 4 && n2.transport.stats().sent === 4, 'every batch acknowledged, both ways');
  const answers = n1.received.map((m) => (m.type === 'HeartbeatResp' ? m.context : m.type));
  return { answers, sent: n1.transport.stats(), received: n2.transport.stats(), readByGrpc: n2.transport.stepStreamsReadByGrpc, sentByGrpc: n1.transport.stepStreamClientByGrpc };
}

void t.test("a StepStream read and acked straight on its HTTP/2 stream answers as one through grpc-js's layers", async (t) => {
  for (const replyHoldMs of [60_000, 0]) {
    const direct = await exchange(t, true, replyHoldMs);
    const viaGrpc = await exchange(t, false, replyHoldMs);
    t.strictSame(direct.answers, ['re-0', 're-1', 're-2', 're-3'], `hold ${replyHoldMs}: every answer back, in order`);
    t.strictSame(direct.answers, viaGrpc.answers, `hold ${replyHoldMs}: the same answers both ways`);
    t.strictSame([direct.sent, direct.received], [viaGrpc.sent, viaGrpc.received], `hold ${replyHoldMs}: the same counts both ways`);
    t.equal(direct.readByGrpc, 0, `hold ${replyHoldMs}: behind the guard the stream was read directly`);
    t.equal(viaGrpc.readByGrpc, 1, `hold ${replyHoldMs}: without it, through grpc-js`);
    // The sender's link, a real PeerTransport's: below grpc-js after its first batch, either way.
    for (const e of [direct, viaGrpc]) t.strictSame(e.sentByGrpc, { acksReadByGrpc: 0, batchesWrittenByGrpc: 1 }, `hold ${replyHoldMs}: the link's acks read and batches written below grpc-js`);
  }
});

void t.test("a StepStream message past the limit, or one that does not decode, ends the stream with grpc-js's status either way", async (t) => {
  const m = stepMethod('StepStream');
  const raw = async (guard: boolean, bytes: Buffer): Promise<{ code: number | undefined; details: string | undefined; acks: number }> => {
    const n2 = await startNode({ id: 'n2', guard, maxMessageBytes: 4096 });
    t.teardown(() => n2.stop());
    const client = new grpc.Client(n2.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 1 << 20 });
    t.teardown(() => client.close());
    const good = m.requestSerialize({ cluster: 'test', from: 'n1', to: 'n2', messages: [heartbeat('n1', 'n2', 1)], ...envelope } satisfies OutgoingBatch);
    return new Promise((resolve) => {
      let acks = 0;
      const call = client.makeBidiStreamRequest(m.path, (b: Buffer) => b, (b: Buffer) => b);
      call.on('data', () => acks++);
      call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details, acks }));
      call.on('end', () => resolve({ code: undefined, details: undefined, acks }));
      call.write(good);
      call.write(bytes);
      call.write(good);
      call.end();
    });
  };
  for (const [what, bytes, code] of [
    ['past the limit', Buffer.alloc(4097), grpc.status.RESOURCE_EXHAUSTED],
    ['undecodable', Buffer.from([0xff, 0xff, 0xff]), grpc.status.INTERNAL],
  ] as const) {
    const direct = await raw(true, bytes);
    const viaGrpc = await raw(false, bytes);
    t.equal(direct.code, code, `${what}: ${grpc.status[code]}`);
    t.strictSame(direct, viaGrpc, `${what}: the same status, details and acks both ways`);
  }
});
