/**
 * SnapshotSave holds a whole serialized copy of the state until its client reads it: a
 * controller serves one save at a time and cuts off a client that reads nothing for the stall
 * limit (30 saves never read held 290 MB and blocked a controller's loop for 12.8 s), and ends
 * one that outlives its whole-save allowance however it reads (one chunk a minute held the slot
 * for hours: attack-33 G9).
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { SNAPSHOT_CHUNK_BYTES, snapshotSaveAllowanceMs, snapshotSaveHandler, type SnapshotChunkMsg } from '../../src/api/snapshot-save.js';
import type { SnapshotJob } from '../../src/node/raft-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { FakeConsensus } from './fake-consensus.js';

/**
 * A server stream whose client reads nothing: every write reports a full buffer, no drain
 * comes. As grpc-js's, an 'error' event is the status it ends with.
 */
class UnreadCall extends EventEmitter {
  cancelled = false;
  destroyed = false;
  writableEnded = false;
  readonly written: SnapshotChunkMsg[] = [];
  error: grpc.ServiceError | null = null;

  constructor() {
    super();
    this.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.end();
    });
  }

  getDeadline(): number {
    return Date.now() + 10_000;
  }

  write(m: SnapshotChunkMsg): boolean {
    this.written.push(m);
    return false;
  }

  end(): void {
    this.writableEnded = true;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

void t.test('one save at a time; a client that reads nothing is cut off, and the next save is served', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'] });
  const handler = snapshotSaveHandler({ id: 'c1', clusterName: 'x', version: '0', host: port, stateMachine: port.sm, defaultTimeoutMs: 1000 }, { stallMs: 300 });
  const serve = (call: UnreadCall): void => handler(call as unknown as grpc.ServerWritableStream<object, SnapshotChunkMsg>);
  const first = new UnreadCall();
  serve(first);
  await waitFor(() => first.written.length > 0, 'the first save to send its header', 5000);
  const second = new UnreadCall();
  serve(second);
  t.match(second.error, { code: grpc.status.FAILED_PRECONDITION, details: /^c1 is already serving a snapshot save \(one at a time: each holds a copy of the state until it is read\)/ });
  t.equal(second.written.length, 0, 'the second got nothing: no second copy of the state');
  await waitFor(() => first.destroyed, 'the unread save to be cut off', 5000);
  t.equal(first.error, null, 'cut off without a status: it reads nothing, a status included');
  const third = new UnreadCall();
  serve(third);
  await waitFor(() => third.written.length > 0, 'the next save to be served', 5000);
  t.equal(third.error, null, 'served, not refused');
  third.destroy();
});

/** A client that reads a chunk each time `read()` is called: the write waiting for room goes on. */
class TrickleCall extends UnreadCall {
  read(): void {
    this.emit('drain');
  }
}

/** A state of `chunks` full chunks, as the state machine's snapshot job would give it. */
function stateOf(chunks: number): { startSnapshot(): SnapshotJob } {
  const bytes = new Uint8Array(chunks * SNAPSHOT_CHUNK_BYTES).fill(0x20);
  return { startSnapshot: () => ({ index: 9, revision: 4, step: () => true, bytes: () => bytes }) };
}

const dataChunks = (call: UnreadCall): number => call.written.filter((m) => 'data' in m).length;

void t.test('a client that reads a chunk well within the stall limit is still ended at the whole-save allowance, and the slot is freed', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'] });
  const allowed: number[] = [];
  const handler = snapshotSaveHandler(
    { id: 'c1', clusterName: 'x', version: '0', host: port, stateMachine: stateOf(64), defaultTimeoutMs: 1000 },
    // Reads every 20 ms never stall 2 s; 64 chunks at that pace take 1.3 s, past the 300 ms the
    // first save is allowed (the next one is allowed 30 s).
    { stallMs: 2000, allowanceMs: (bytes) => (allowed.push(bytes), allowed.length === 1 ? 300 : 30_000), statusGraceMs: 100 },
  );
  const serve = (call: UnreadCall): void => handler(call as unknown as grpc.ServerWritableStream<object, SnapshotChunkMsg>);
  const slow = new TrickleCall();
  serve(slow);
  const reader = setInterval(() => slow.read(), 20);
  t.teardown(() => clearInterval(reader));
  await waitFor(() => slow.error !== null, 'the slow save to end with a status', 5000);
  clearInterval(reader);
  t.strictSame(allowed, [64 * SNAPSHOT_CHUNK_BYTES], "the allowance was asked for the state's size");
  t.match(slow.error, {
    code: grpc.status.DEADLINE_EXCEEDED,
    details: /^c1 ended the snapshot save after 0\.\d s: a 4194304-byte snapshot is allowed 0\.3 s \(its size at 1 Mbit\/s and a minute\) and had not all been read; the next save may start/,
  });
  const sent = dataChunks(slow);
  t.ok(sent > 0 && sent < 64, `ended part way: ${sent} of 64 chunks sent`);
  t.notOk(slow.written.some((m) => 'trailer' in m), 'no trailer: the client cannot take it for a whole snapshot');

  // The slot is free: the next save is served, and the ended one writes nothing more however it reads.
  const next = new TrickleCall();
  serve(next);
  await waitFor(() => next.written.length > 0, 'the next save to be served', 5000);
  t.equal(next.error, null, 'served, not refused');
  slow.read();
  slow.read();
  t.equal(dataChunks(slow), sent, 'the ended save wrote nothing more');
  next.destroy();
});

void t.test('a save read within its allowance is whole, however slowly each chunk is taken', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'] });
  const handler = snapshotSaveHandler({ id: 'c1', clusterName: 'x', version: '0', host: port, stateMachine: stateOf(8), defaultTimeoutMs: 1000 }, { stallMs: 2000, allowanceMs: () => 10_000 });
  const call = new TrickleCall();
  handler(call as unknown as grpc.ServerWritableStream<object, SnapshotChunkMsg>);
  const reader = setInterval(() => call.read(), 20);
  t.teardown(() => clearInterval(reader));
  await waitFor(() => call.writableEnded, 'the save to end', 5000);
  t.equal(dataChunks(call), 8);
  t.ok(call.written.some((m) => 'trailer' in m), 'with its trailer');
  t.equal(call.error, null, 'and no error status');
});

void t.test('the default allowance: the state at 1 Mbit/s and a minute', async (t) => {
  t.equal(snapshotSaveAllowanceMs(0), 60_000);
  t.equal(snapshotSaveAllowanceMs(125_000), 61_000);
  t.equal(snapshotSaveAllowanceMs(30 * 1024 * 1024), 311_659, '30 MiB: 5 min 12 s, not the ~8 h a chunk a minute took');
});
