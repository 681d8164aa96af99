/** A watcher that stops reading is cut off by count or by bytes (src/api/watch-handler.ts). */
import t from 'tap';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { MAX_QUEUED_BYTES, MAX_QUEUED_CHANGES, watchHandler } from '../../src/api/watch-handler.js';
import type { KvChange, WatchSubscriber } from '../../src/api/watch-source.js';

/** A watch whose client reads nothing: every write fills the buffer, 'drain' never comes. */
function stalledWatch(): { deliver: (c: KvChange) => void; ended: Promise<{ code?: number; details?: string }>; cancelled: () => boolean } {
  let subscriber: WatchSubscriber | null = null;
  let cancelled = false;
  const call = Object.assign(new EventEmitter(), {
    request: { key: 'k/', prefix: true, startRevision: 0 },
    cancelled: false,
    destroyed: false,
    writableEnded: false,
    write: () => false,
    getPeer: () => '127.0.0.1:40000',
    getAuthContext: () => ({}),
    end: (): void => void (call.writableEnded = true),
  });
  // As grpc-js's, an 'error' event is the status the stream ends with.
  const ended = new Promise<{ code?: number; details?: string }>((resolve) => call.once('error', (err: { code?: number; details?: string }) => resolve(err)));
  watchHandler({
    subscribe: (_filter, _from, s) => {
      subscriber = s;
      return { ok: true, cancel: () => void (cancelled = true) };
    },
  })(call as unknown as grpc.ServerWritableStream<never, never>);
  return { deliver: (c) => subscriber!.onChange(c), ended, cancelled: () => cancelled };
}

void t.test('by bytes: large values stop at 64 MiB held, long before 10,000 changes', async (t) => {
  const w = stalledWatch();
  const value = new Uint8Array(1024 * 1024);
  let n = 0;
  const result = Promise.race([w.ended, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000))]);
  while (n < 100) w.deliver({ type: 'PUT', key: `k/${n}`, value, revision: ++n });
  const err = await result;
  t.match(err?.details, `the watcher fell ${MAX_QUEUED_BYTES} bytes of changes behind; watch again from revision 2`);
  t.ok(w.cancelled(), 'unsubscribed');
});

void t.test('by count: small values stop at 10,000 changes held', async (t) => {
  const w = stalledWatch();
  const value = new Uint8Array(1);
  // The first is taken by the write that waits for 'drain'; the rest wait in the queue.
  for (let n = 1; n <= MAX_QUEUED_CHANGES + 2; n++) w.deliver({ type: 'PUT', key: 'k/x', value, revision: n });
  const err = await w.ended;
  t.match(err.details, `the watcher fell ${MAX_QUEUED_CHANGES} changes behind`);
});
