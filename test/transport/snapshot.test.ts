import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { InstallSnapshot } from '../../src/raft/messages.js';
import { chunkBytesFor, SNAPSHOT_CHUNK_BYTES } from '../../src/transport/snapshot-stream.js';
import { waitFor } from '../helpers/wait-for.js';
import { startNode, type NodeSetup, type TestNode } from './harness.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function snapshotOf(size: number, from = 'n1', to = 'n2'): InstallSnapshot {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 12)) & 0xff;
  return {
    type: 'InstallSnapshot',
    from,
    to,
    term: 4,
    snapshot: { meta: { index: 1000, term: 3, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } }, data },
  };
}

async function pair(t: Test, sender: NodeSetup, receiver: NodeSetup): Promise<[TestNode, TestNode]> {
  const a = await startNode(sender);
  const b = await startNode(receiver);
  t.teardown(() => {
    a.stop();
    b.stop();
  });
  a.transport.setPeer(b.id, b.address);
  return [a, b];
}

void t.test('chunks stay below the message limit', async (t) => {
  t.equal(chunkBytesFor(64 * 1024 * 1024), SNAPSHOT_CHUNK_BYTES);
  t.equal(chunkBytesFor(100 * 1024), 50 * 1024);
});

void t.test('a snapshot of several MiB streams in chunks and arrives intact as one message', async (t) => {
  const limit = 1024 * 1024;
  const [n1, n2] = await pair(t, { id: 'n1', maxMessageBytes: limit }, { id: 'n2', maxMessageBytes: limit });
  const m = snapshotOf(5 * 1024 * 1024 + 123);
  n1.transport.send([m]);
  await waitFor(() => n1.snapshotStatus.length === 1, 'the snapshot status');
  t.strictSame(n1.snapshotStatus, [{ peer: 'n2', ok: true }]);
  t.equal(n2.received.length, 1, 'one InstallSnapshot message');
  const got = n2.received[0];
  t.equal(got?.type, 'InstallSnapshot');
  if (got?.type === 'InstallSnapshot') {
    t.strictSame(got.snapshot.meta, m.snapshot.meta);
    t.equal(got.snapshot.data.byteLength, m.snapshot.data.byteLength);
    t.ok(Buffer.from(got.snapshot.data).equals(Buffer.from(m.snapshot.data)), 'the data is byte-for-byte the same');
    t.equal(got.from, 'n1');
    t.equal(got.term, 4);
  }
  t.equal(n1.transport.stats().sent, 1);
});

void t.test('an empty snapshot body still arrives', async (t) => {
  const [n1, n2] = await pair(t, { id: 'n1' }, { id: 'n2' });
  n1.transport.send([snapshotOf(0)]);
  await waitFor(() => n1.snapshotStatus.length === 1, 'the snapshot status');
  t.strictSame(n1.snapshotStatus, [{ peer: 'n2', ok: true }]);
  t.equal(n2.received[0]?.type, 'InstallSnapshot');
});

void t.test('a snapshot over the receiver maximum is refused and reported failed', async (t) => {
  const [n1, n2] = await pair(t, { id: 'n1' }, { id: 'n2', options: { maxSnapshotBytes: 1024 * 1024 } });
  n1.transport.send([snapshotOf(3 * 1024 * 1024)]);
  await waitFor(() => n1.snapshotStatus.length === 1, 'the snapshot status');
  t.strictSame(n1.snapshotStatus, [{ peer: 'n2', ok: false }]);
  t.equal(n2.received.length, 0);
  t.equal(n2.transport.stats().refused, 1);
  t.match(n2.warnings.map((w) => w.msg), [/snapshot totalSize: expected at most 1048576 bytes .*found 3145728/]);
  t.match(n1.warnings.map((w) => w.obj), [{ code: grpc.status[grpc.status.RESOURCE_EXHAUSTED] }]);
});

void t.test('a snapshot from an unknown sender is refused before any data is taken', async (t) => {
  const [x1, n2] = await pair(t, { id: 'x1' }, { id: 'n2' });
  x1.transport.send([snapshotOf(600 * 1024, 'x1', 'n2')]);
  await waitFor(() => x1.snapshotStatus.length === 1, 'the snapshot status');
  t.strictSame(x1.snapshotStatus, [{ peer: 'n2', ok: false }]);
  t.equal(n2.received.length, 0);
  t.match(n2.warnings.map((w) => w.msg), [/unknown sender/]);
});

void t.test('a second snapshot to a peer while one is in flight fails at once', async (t) => {
  const [n1, n2] = await pair(t, { id: 'n1' }, { id: 'n2' });
  n1.transport.send([snapshotOf(2 * 1024 * 1024), snapshotOf(1024)]);
  t.strictSame(n1.snapshotStatus, [{ peer: 'n2', ok: false }], 'the second is refused synchronously');
  await waitFor(() => n1.snapshotStatus.length === 2, 'the first to finish');
  t.strictSame(n1.snapshotStatus[1], { peer: 'n2', ok: true });
  t.equal(n2.received.length, 1);
});

void t.test('a snapshot to a stopped peer is reported failed', async (t) => {
  const [n1, n2] = await pair(t, { id: 'n1' }, { id: 'n2' });
  n2.stop();
  n1.transport.send([snapshotOf(1024)]);
  await waitFor(() => n1.snapshotStatus.length === 1, 'the snapshot status');
  t.strictSame(n1.snapshotStatus, [{ peer: 'n2', ok: false }]);
});
