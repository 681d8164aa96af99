/**
 * SnapshotSave holds a whole serialized copy of the state until its client reads it: a
 * controller serves one save at a time and cuts off a client that reads nothing for the stall
 * limit (30 saves never read held 290 MB and blocked a controller's loop for 12.8 s).
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { snapshotSaveHandler, type SnapshotChunkMsg } from '../../src/api/snapshot-save.js';
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
  const handler = snapshotSaveHandler({ id: 'c1', clusterName: 'x', version: '0', host: port, stateMachine: port.sm, defaultTimeoutMs: 1000 }, 300);
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
