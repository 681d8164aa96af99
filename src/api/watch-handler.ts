/**
 * Watch, the server side of `ctl watch`: changes to a key or a prefix as this node applies
 * them, from a revision on, until the client cancels. A client that reads slower than the
 * cluster writes is cut off once MAX_QUEUED_CHANGES changes or MAX_QUEUED_BYTES of keys and
 * values wait for it, rather than holding memory without bound: a count alone let one stalled
 * watcher hold 10,000 values of up to 1 MiB each, past the state's quota.
 */
import type * as grpc from '@grpc/grpc-js';
import { refuseLongKey } from './kv-ops.js';
import { ServiceFailure, toServiceError } from './service-error.js';
import { StreamClosedError, failStream, writeWithBackpressure } from './stream-writer.js';
import type { KvChange, WatchSource } from './watch-source.js';

export const MAX_QUEUED_CHANGES = 10_000;
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

const sizeOf = (c: KvChange): number => c.key.length + c.value.byteLength;

export interface WatchRequestMsg {
  readonly key: string;
  readonly prefix: boolean;
  readonly startRevision: number;
}

export interface WatchEventMsg {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

function check(req: WatchRequestMsg): void {
  if (!req.prefix && req.key === '') throw new ServiceFailure('INVALID_ARGUMENT', 'expected a key to watch (or --prefix), found an empty key');
  refuseLongKey(req.key);
}

export function watchHandler(source: WatchSource): grpc.handleServerStreamingCall<WatchRequestMsg, WatchEventMsg> {
  return (call) => {
    const req = call.request;
    try {
      check(req);
    } catch (err) {
      failStream(call as grpc.ServerWritableStream<unknown, unknown>, toServiceError(err));
      return;
    }
    const queue: KvChange[] = [];
    let queuedBytes = 0;
    // Until subscribed there is nothing to cancel; end() may run during the replay.
    let cancel = (): void => undefined;
    let pumping = false;
    let ended = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      cancel();
      failStream(call as grpc.ServerWritableStream<unknown, unknown>, toServiceError(err));
    };
    const pump = async (): Promise<void> => {
      pumping = true;
      try {
        while (queue.length > 0 && !ended) {
          const c = queue.shift()!;
          queuedBytes -= sizeOf(c);
          await writeWithBackpressure(call, { type: c.type, key: c.key, value: c.value, revision: c.revision });
        }
      } catch (err) {
        if (err instanceof StreamClosedError) cancel();
        else end(err);
      } finally {
        pumping = false;
      }
    };
    const started = source.subscribe({ key: req.key, prefix: req.prefix }, req.startRevision, {
      onChange: (change) => {
        if (ended) return;
        queue.push(change);
        queuedBytes += sizeOf(change);
        if (queue.length > MAX_QUEUED_CHANGES || queuedBytes > MAX_QUEUED_BYTES) {
          const behind = queue.length > MAX_QUEUED_CHANGES ? `${MAX_QUEUED_CHANGES} changes` : `${MAX_QUEUED_BYTES} bytes of changes`;
          end(new ServiceFailure('INTERNAL', `the watcher fell ${behind} behind; watch again from revision ${queue[0]!.revision}`));
          return;
        }
        if (!pumping) void pump();
      },
      onLost: (reason) => end(new ServiceFailure('COMPACTED', reason)),
    });
    if (!started.ok) {
      end(
        new ServiceFailure(
          'COMPACTED',
          `revision ${req.startRevision} is older than this controller's history of changes, which starts at revision ${started.historyFrom + 1}`,
        ),
      );
      return;
    }
    cancel = started.cancel;
    if (ended) {
      cancel(); // the replay alone overflowed the queue
      return;
    }
    call.on('cancelled', () => cancel());
    call.on('close', () => cancel());
    if (queue.length > 0 && !pumping) void pump();
  };
}
