/**
 * Attack round 11 (A1): heartbeats queued for a follower behind the megabytes of appends of a
 * burst of large writes reached it, and their answers the leader, only after the leader's lease
 * had run out; the leader then refused writes as cut off from its quorum. Heartbeats and their
 * answers now go ahead of the messages queued before them (peer-link.ts).
 */
import t from 'tap';
import type { Message } from '../../src/raft/messages.js';
import { waitFor } from '../helpers/wait-for.js';
import { startNode } from './harness.js';

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
