import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { Heartbeat, Message } from '../../src/raft/messages.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { PayloadError, TransportError } from '../../src/transport/errors.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';
import { partialPeer, rawUnary, startNode, type TestNode } from './harness.js';

const heartbeat = (from: string, to: string, commit: number): Heartbeat => ({ type: 'Heartbeat', from, to, term: 1, commit, context: '' });

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

async function pair(t: Test, a = 'n1', b = 'n2'): Promise<[TestNode, TestNode]> {
  const na = await startNode({ id: a });
  const nb = await startNode({ id: b });
  t.teardown(() => {
    na.stop();
    nb.stop();
  });
  na.transport.setPeer(b, nb.address);
  nb.transport.setPeer(a, na.address);
  return [na, nb];
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const commits = (ms: readonly Message[]): number[] => ms.map((m) => (m.type === 'Heartbeat' ? m.commit : -1));

void t.test('two transports exchange batches in both directions, in order', async (t) => {
  const [n1, n2] = await pair(t);
  const total = 500;
  for (let i = 0; i < total; i += 10) {
    n1.transport.send(Array.from({ length: 10 }, (_, j) => heartbeat('n1', 'n2', i + j)));
    n2.transport.send([heartbeat('n2', 'n1', i / 10)]);
  }
  await waitFor(() => n2.received.length === total && n1.received.length === total / 10, 'all messages delivered');
  t.strictSame(commits(n2.received), Array.from({ length: total }, (_, i) => i), 'n1 -> n2 in send order');
  t.strictSame(commits(n1.received), Array.from({ length: total / 10 }, (_, i) => i), 'n2 -> n1 in send order');
  await waitFor(() => n1.transport.stats().sent === total, 'the sender to see every batch acknowledged');
  t.strictSame(n1.transport.stats(), { sent: total, dropped: 0, refused: 0 });
  t.same(n1.received[0], heartbeat('n2', 'n1', 0), 'messages arrive decoded');
});

void t.test('messages sent after-answers are delivered, and a later send to the same peer never overtakes them', async (t) => {
  const [n1, n2] = await pair(t);
  n1.transport.send([heartbeat('n1', 'n2', 0)], 'after-answers');
  await waitFor(() => n2.received.length === 1, 'a lone after-answers message to arrive');
  n1.transport.send([heartbeat('n1', 'n2', 1), heartbeat('n1', 'n2', 2)], 'after-answers');
  n1.transport.send([heartbeat('n1', 'n2', 3)], 'after-answers');
  n1.transport.send([heartbeat('n1', 'n2', 4)], 'now');
  n1.transport.send([heartbeat('n1', 'n2', 5)], 'after-answers');
  await waitFor(() => n2.received.length === 6, 'every message to arrive');
  t.strictSame(commits(n2.received), [0, 1, 2, 3, 4, 5], 'in send order');
});

void t.test('appends with entries and every small message type are delivered intact', async (t) => {
  const [n1, n2] = await pair(t);
  const sent: Message[] = [
    {
      type: 'Append',
      from: 'n1',
      to: 'n2',
      term: 3,
      prevIndex: 1,
      prevTerm: 1,
      entries: [{ term: 3, index: 2, kind: 'normal', data: new Uint8Array([1, 2, 3]) }],
      commit: 1, commitOnly: false,
    },
    { type: 'Vote', from: 'n1', to: 'n2', term: 3, lastLogIndex: 2, lastLogTerm: 3, commit: 0, transfer: false },
    { type: 'TimeoutNow', from: 'n1', to: 'n2', term: 3 },
    { type: 'ReadIndexResp', from: 'n1', to: 'n2', term: 3, index: 2, reject: false, context: 'r' },
  ];
  n1.transport.send(sent);
  await waitFor(() => n2.received.length === sent.length, 'delivery');
  t.strictSame(n2.received, sent);
});

void t.test('a batch from a sender the receiver does not know is refused and nothing is delivered', async (t) => {
  const receiver = await startNode({ id: 'n2' });
  const intruder = await startNode({ id: 'x9' });
  t.teardown(() => {
    receiver.stop();
    intruder.stop();
  });
  intruder.transport.setPeer('n2', receiver.address);
  intruder.transport.send([heartbeat('x9', 'n2', 1)]);
  await waitFor(() => receiver.transport.stats().refused === 1, 'the refusal to be counted');
  await waitFor(() => intruder.transport.stats().dropped === 1, 'the sender to count the loss');
  t.equal(receiver.received.length, 0);
  t.match(intruder.warnings[0]?.obj, { code: 'PERMISSION_DENIED' });

  const err = await rawUnary(receiver.address, 'Step', {
    cluster: 'test',
    from: 'intruder',
    to: 'n2',
    messages: [encodeMessage(heartbeat('intruder', 'n2', 1))],
  });
  t.equal(err?.code, grpc.status.PERMISSION_DENIED);
  t.match(err?.details, /unknown sender: expected a member of cluster "test", found "intruder"/);
  t.equal(receiver.received.length, 0);
});

void t.test('a batch from another cluster is refused', async (t) => {
  const receiver = await startNode({ id: 'n2' });
  const stranger = await startNode({ id: 'n1', cluster: 'other' });
  t.teardown(() => {
    receiver.stop();
    stranger.stop();
  });
  stranger.transport.setPeer('n2', receiver.address);
  stranger.transport.send([heartbeat('n1', 'n2', 1)]);
  await waitFor(() => receiver.transport.stats().refused === 1, 'the refusal');
  t.equal(receiver.received.length, 0);

  const err = await rawUnary(receiver.address, 'Step', { cluster: 'other', from: 'n1', to: 'n2', messages: [] });
  t.equal(err?.code, grpc.status.PERMISSION_DENIED);
  t.match(err?.details, /cluster name mismatch: expected "test", found "other"/);
});

void t.test('misdirected, malformed or mislabelled batches are refused whole', async (t) => {
  const receiver = await startNode({ id: 'n2' });
  t.teardown(() => receiver.stop());
  const good = encodeMessage(heartbeat('n1', 'n2', 1));

  const misdirected = await rawUnary(receiver.address, 'Step', { cluster: 'test', from: 'n1', to: 'n3', messages: [good] });
  t.equal(misdirected?.code, grpc.status.INVALID_ARGUMENT);
  t.match(misdirected?.details, /misdirected: expected to="n2", found "n3"/);

  const malformed = await rawUnary(receiver.address, 'Step', {
    cluster: 'test',
    from: 'n1',
    to: 'n2',
    messages: [good, { ...good, type: 'APPEND', prevIndex: 3, prevTerm: 1, entries: [{ term: 1, index: 5, kind: 'ENTRY_NORMAL' }] }],
  });
  t.equal(malformed?.code, grpc.status.INVALID_ARGUMENT);
  t.match(malformed?.details, /messages\[1\]: bad message: entries\[0\]\.index: expected 4 .*found 5/);

  const forged = await rawUnary(receiver.address, 'Step', {
    cluster: 'test',
    from: 'n1',
    to: 'n2',
    messages: [encodeMessage(heartbeat('n3', 'n2', 1))],
  });
  t.equal(forged?.code, grpc.status.INVALID_ARGUMENT);
  t.match(forged?.details, /messages\[0\]: expected from="n1" to="n2" as in the batch, found from="n3"/);

  const snapshotInStep = await rawUnary(receiver.address, 'Step', {
    cluster: 'test',
    from: 'n1',
    to: 'n2',
    messages: [
      encodeMessage({
        type: 'InstallSnapshot',
        from: 'n1',
        to: 'n2',
        term: 2,
        snapshot: { meta: { index: 5, term: 2, conf: { voters: ['n1'], learners: [] } }, data: new Uint8Array(0) },
      }),
    ],
  });
  t.equal(snapshotInStep?.code, grpc.status.INVALID_ARGUMENT);
  t.match(snapshotInStep?.details, /InstallSnapshot stream/);

  t.equal(receiver.received.length, 0, 'the valid message in the malformed batch was not delivered either');
  t.equal(receiver.transport.stats().refused, 5);
});

void t.test('a message over the receiver limit is refused by gRPC with RESOURCE_EXHAUSTED', async (t) => {
  const receiver = await startNode({ id: 'n2', maxMessageBytes: 64 * 1024 });
  const sender = await startNode({ id: 'n1', maxMessageBytes: 4 * 1024 * 1024 });
  t.teardown(() => {
    receiver.stop();
    sender.stop();
  });
  sender.transport.setPeer('n2', receiver.address);
  const big: Message = {
    type: 'Append',
    from: 'n1',
    to: 'n2',
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    entries: [{ term: 1, index: 1, kind: 'normal', data: new Uint8Array(200 * 1024) }],
    commit: 0, commitOnly: false,
  };
  sender.transport.send([big]);
  await waitFor(() => sender.transport.stats().dropped === 1, 'the sender to drop the batch');
  t.match(sender.warnings.map((w) => w.obj), [{ code: 'RESOURCE_EXHAUSTED' }]);
  t.equal(receiver.received.length, 0);

  const err = await rawUnary(receiver.address, 'Step', { cluster: 'test', from: 'n1', to: 'n2', messages: [encodeMessage(big)] });
  t.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);

  sender.transport.send([heartbeat('n1', 'n2', 7)]);
  await waitFor(() => receiver.received.length === 1, 'a small message after the refusal');
  t.strictSame(commits(receiver.received), [7]);
});

void t.test('ping returns a round-trip time and the peer answer', async (t) => {
  const [n1, n2] = await pair(t);
  const payload = new TextEncoder().encode('load=0.3');
  const pong = await n1.transport.ping('n2', payload, 5000);
  t.ok(Number.isFinite(pong.rttMs) && pong.rttMs >= 0 && pong.rttMs < 5000, `rtt ${pong.rttMs} ms`);
  t.strictSame(pong.payload, payload, 'the harness answers with the payload it got');
  t.strictSame(n2.heartbeatsFrom, ['n1']);
  await t.rejects(n1.transport.ping('n7', payload, 1000), { code: 'UNKNOWN_PEER' });
});

void t.test("a pong carries the answerer's disk to the pinger; one without a reading carries none", async (t) => {
  let reading: { freeBytes: number; floorBytes: number } | null = null;
  const heard: { peer: string; freeBytes: number; floorBytes: number }[] = [];
  const n1 = await startNode({ id: 'n1', options: { onPeerDisk: (peer, disk) => heard.push({ peer, ...disk }) } });
  const n2 = await startNode({ id: 'n2', options: { ownDisk: () => reading } });
  t.teardown(() => {
    n1.stop();
    n2.stop();
  });
  n1.transport.setPeer('n2', n2.address);
  await n1.transport.ping('n2', new Uint8Array(0), 5000);
  t.strictSame(heard, [], 'no reading yet: the pong says nothing');
  reading = { freeBytes: 2 ** 40 + 3, floorBytes: 0 };
  await n1.transport.ping('n2', new Uint8Array(0), 5000);
  reading = { freeBytes: 0, floorBytes: 64 * 2 ** 20 };
  await n1.transport.ping('n2', new Uint8Array(0), 5000);
  t.strictSame(heard, [
    { peer: 'n2', freeBytes: 2 ** 40 + 3, floorBytes: 0 },
    { peer: 'n2', freeBytes: 0, floorBytes: 64 * 2 ** 20 },
  ], 'each reading, a full disk included');
});

void t.test('a ping whose payload the receiver cannot read is answered INVALID_ARGUMENT; a fault of its own INTERNAL', async (t) => {
  const receiver = await startNode({
    id: 'n2',
    options: {
      onHeartbeat: (_from, payload) => {
        if (payload[0] === 1) throw new PayloadError('view: expected 1 more byte(s) for magic');
        throw new Error('a bug');
      },
    },
  });
  const sender = await startNode({ id: 'n1' });
  t.teardown(() => {
    receiver.stop();
    sender.stop();
  });
  sender.transport.setPeer('n2', receiver.address);
  const answer = (payload: Uint8Array): Promise<unknown> =>
    sender.transport.ping('n2', payload, 5000).then(
      () => null,
      (e: unknown) => e,
    );
  t.match(await answer(Uint8Array.of(1)), { code: 'RPC_FAILED', grpcCode: grpc.status.INVALID_ARGUMENT, message: /payload: view: expected 1 more byte\(s\) for magic/ });
  t.match(await answer(Uint8Array.of(2)), { code: 'RPC_FAILED', grpcCode: grpc.status.INTERNAL, message: /onHeartbeat failed: a bug/ });
});

void t.test('a ping from an unknown sender is refused', async (t) => {
  const receiver = await startNode({ id: 'n2' });
  const intruder = await startNode({ id: 'x1' });
  t.teardown(() => {
    receiver.stop();
    intruder.stop();
  });
  intruder.transport.setPeer('n2', receiver.address);
  const err: unknown = await intruder.transport.ping('n2', new Uint8Array(0), 5000).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof TransportError);
  t.match(err, { code: 'RPC_FAILED', grpcCode: grpc.status.PERMISSION_DENIED });
  t.strictSame(receiver.heartbeatsFrom, []);
});

void t.test('a peer that stops is reported unreachable without waiting for a send', async (t) => {
  const [n1, n2] = await pair(t);
  n1.transport.send([heartbeat('n1', 'n2', 1)]);
  await waitFor(() => n2.received.length === 1, 'the connection to be up');
  t.strictSame(n1.unreachable, []);
  n2.stop();
  await waitFor(() => n1.unreachable.length > 0, 'onUnreachable after the peer stopped', 5000);
  t.strictSame(n1.unreachable, ['n2']);

  for (let i = 0; i < 5; i++) {
    const before = n1.transport.stats().dropped;
    n1.transport.send([heartbeat('n1', 'n2', i)]);
    await waitFor(() => n1.transport.stats().dropped === before + 1, `send ${i} to fail`);
  }
  t.strictSame(n1.unreachable, ['n2'], 'reported once per failure streak');
});

void t.test('the queue to a down peer is bounded and drops the oldest', async (t) => {
  const n1 = await startNode({ id: 'n1', options: { maxQueuedMessages: 10 } });
  t.teardown(() => n1.stop());
  n1.transport.setPeer('n2', `127.0.0.1:${await closedPort()}`);
  n1.transport.send(Array.from({ length: 50 }, (_, i) => heartbeat('n1', 'n2', i)));
  t.equal(n1.transport.stats().dropped, 40, 'overflow is dropped at once, the 10 newest go out');
  for (let i = 0; i < 30; i++) n1.transport.send([heartbeat('n1', 'n2', 100 + i)]);
  // The first of these goes as the second batch in flight (a window of two on the stream).
  t.ok(n1.transport.stats().dropped >= 59, 'two batches in flight, at most 10 waiting');
  await waitFor(() => n1.transport.stats().dropped === 80, 'every message to be accounted for');
  t.strictSame(n1.unreachable, ['n2']);
  t.equal(n1.transport.stats().sent, 0);
});

void t.test('removed, unknown and closed peers drop messages without throwing', async (t) => {
  const [n1, n2] = await pair(t);
  n1.transport.removePeer('n2');
  n1.transport.send([heartbeat('n1', 'n2', 1), heartbeat('n1', 'n5', 1)]);
  t.equal(n1.transport.stats().dropped, 2);
  t.match(n1.warnings.map((w) => w.msg), [/no address known for peer n2/, /no address known for peer n5/]);

  n1.transport.setPeer('n2', n2.address);
  n1.transport.send([heartbeat('n1', 'n2', 2)]);
  await waitFor(() => n2.received.length === 1, 'delivery after setPeer again');

  n2.transport.close();
  n1.transport.send([heartbeat('n1', 'n2', 3)]);
  await waitFor(() => n1.transport.stats().dropped === 3, 'the closed receiver to refuse');
  t.equal(n2.received.length, 1);
  await t.rejects(n2.transport.ping('n1', new Uint8Array(0), 1000), { code: 'CLOSED' });
  n2.transport.send([heartbeat('n2', 'n1', 1)]);
  t.equal(n2.transport.stats().dropped, 1);
});

void t.test('a paused peer is noticed by keepalive and reported unreachable within seconds', async (t) => {
  const n1 = await startNode({ id: 'n1' });
  const child = spawn(process.execPath, [fileURLToPath(new URL('./child-node.js', import.meta.url)), 'n2'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  guardChild(child);
  t.teardown(() => {
    n1.stop();
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  n1.transport.setPeer('n2', address);
  await n1.transport.ping('n2', new Uint8Array(0), 5000);
  const pausedAt = Date.now();
  child.kill('SIGSTOP');
  await waitFor(() => n1.unreachable.length > 0, 'onUnreachable for the paused peer', 8000);
  const elapsed = Date.now() - pausedAt;
  t.strictSame(n1.unreachable, ['n2']);
  t.ok(elapsed < 5000, `noticed after ${elapsed} ms (keepalive 1 s + 1 s timeout)`);
});

void t.test('a new address for a peer carries its queued messages over', async (t) => {
  const [n1, n2] = await pair(t);
  n1.transport.setPeer('n2', `127.0.0.1:${await closedPort()}`);
  for (let i = 0; i < 4; i++) n1.transport.send([heartbeat('n1', 'n2', i)]);
  n1.transport.setPeer('n2', n2.address);
  t.equal(n1.transport.stats().dropped, 2, 'only the two batches in flight to the old address are lost');
  await waitFor(() => n2.received.length === 2, 'the queued messages at the new address');
  t.strictSame(commits(n2.received), [2, 3]);
});

void t.test('a batch without an ack by its deadline is dropped, and the queue goes on a fresh stream', async (t) => {
  // A peer whose first StepStream never acknowledges anything; later streams do.
  let streams = 0;
  const delivered: number[] = [];
  const peer = await partialPeer({
    StepStream: (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
      const answers = ++streams > 1;
      call.on('data', (batch: Record<string, unknown>) => {
        if (!answers) return;
        delivered.push((batch['messages'] as unknown[]).length);
        call.write({});
      });
      call.on('end', () => call.end());
    },
  });
  const n1 = await startNode({ id: 'n1', options: { stepDeadlineMs: 300 } });
  t.teardown(() => {
    n1.stop();
    peer.stop();
  });
  n1.transport.setPeer('n2', peer.address);
  // Two batches fill the window of batches in flight.
  n1.transport.send([heartbeat('n1', 'n2', 1)]);
  n1.transport.send([heartbeat('n1', 'n2', 0)]);
  // Queued behind the unacknowledged batches: they must not wait for ever.
  n1.transport.send([heartbeat('n1', 'n2', 2), heartbeat('n1', 'n2', 3)]);
  await waitFor(() => n1.transport.stats().dropped === 2, 'the unacknowledged batches to be given up', 5000);
  t.strictSame(n1.unreachable, ['n2'], 'and the peer reported unreachable once');
  await waitFor(() => n1.transport.stats().sent === 2, 'the queued messages to be acknowledged on a new stream', 5000);
  t.equal(streams, 2, 'a second stream carried them');
  t.strictSame(delivered, [2], 'in one batch');
});
