/**
 * Attack round 11 (A1): heartbeats queued for a follower behind the megabytes of appends of a
 * burst of large writes reached it, and their answers the leader, only after the leader's lease
 * had run out; the leader then refused writes as cut off from its quorum. Heartbeats and their
 * answers now go ahead of the messages queued before them (peer-link.ts).
 */
import t from 'tap';
import type { Message } from '../../src/raft/messages.js';
import { OutboundQueue } from '../../src/transport/outbound-queue.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { startNode } from './harness.js';
import { silentServer } from './silent-server.js';

const MAX_MESSAGE_BYTES = 256 * 1024;

function append(index: number): Message {
  // About half a batch each: one append per batch.
  const data = new Uint8Array(MAX_MESSAGE_BYTES / 2).fill(index % 251);
  return { type: 'Append', from: 'n1', to: 'n2', term: 1, prevIndex: index - 1, prevTerm: index === 1 ? 0 : 1, entries: [{ term: 1, index, kind: 'normal', data }], commit: 0, commitOnly: false };
}

void t.test('a heartbeat queued behind appends goes in the next batch, ahead of them', async (t) => {
  const n1 = await startNode({ id: 'n1', maxMessageBytes: MAX_MESSAGE_BYTES });
  const n2 = await startNode({ id: 'n2', maxMessageBytes: MAX_MESSAGE_BYTES });
  t.teardown(() => {
    n1.stop();
    n2.stop();
  });
  n1.transport.setPeer('n2', n2.address);
  const appends = Array.from({ length: 8 }, (_, i) => append(i + 1));
  n1.transport.send([...appends, { type: 'Heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, context: 'hb' }, { type: 'HeartbeatResp', from: 'n1', to: 'n2', term: 1, context: 'hr' }]);
  await waitFor(() => n2.received.length === 10, 'every message to arrive');
  const order = n2.received.map((m) => (m.type === 'Append' ? `A${m.entries[0]!.index}` : m.type));
  t.ok(order.indexOf('Heartbeat') <= 2, `the heartbeat came in the first batches (order ${order.join(' ')})`);
  t.ok(order.indexOf('HeartbeatResp') <= 3, 'so did the heartbeat answer');
  t.same(order.filter((o) => o.startsWith('A')), appends.map((_, i) => `A${i + 1}`), 'the appends kept their order');
});

void t.test('a heartbeat sent while the queue is full of appends is kept; the oldest append goes instead', async (t) => {
  const [port] = await freePorts(1);
  const silent = await silentServer(port!);
  const n1 = await startNode({ id: 'n1', options: { maxQueuedMessages: 4 } });
  const n2 = await startNode({ id: 'n2' });
  t.teardown(() => {
    n1.stop();
    n2.stop();
    silent.stop();
  });
  n1.transport.setPeer('n2', silent.address);
  // Two batches go in flight to the silent peer and stay there; the next four fill the queue.
  for (let i = 1; i <= 6; i++) n1.transport.send([append(i)]);
  n1.transport.send([{ type: 'Heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, context: 'hb' }]);
  // The new link to the real peer takes over what was queued.
  n1.transport.setPeer('n2', n2.address);
  await waitFor(() => n2.received.length === 4, 'the queued messages to arrive');
  const order = n2.received.map((m) => (m.type === 'Append' ? `A${m.entries[0]!.index}` : m.type));
  t.same(order, ['Heartbeat', 'A4', 'A5', 'A6'], 'the heartbeat was kept (dropping the head of the queue dropped it at once) and the oldest append dropped');
});

void t.test('the queue drops its oldest message of either kind', async (t) => {
  const hb = (i: number): Message => ({ type: 'Heartbeat', from: 'n1', to: 'n2', term: 1, commit: i, context: '' });
  const q = new OutboundQueue(3, (m) => m.type === 'Heartbeat');
  const dropped = [hb(1), hb(2), hb(3), append(1), hb(4), append(2)].map((m) => q.push(m));
  t.same(dropped, [0, 0, 0, 1, 1, 1], 'one dropped per message past the bound');
  const left = q.drain().map((m) => (m.type === 'Append' ? `A${m.entries[0]!.index}` : `H${m.type === 'Heartbeat' ? m.commit : ''}`));
  t.same(left, ['H4', 'A1', 'A2'], 'an append into a queue full of heartbeats is kept too, heartbeats still ahead');
});
