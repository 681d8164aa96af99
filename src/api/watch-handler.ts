/**
 * Watch, the server side of `ctl watch`: changes to a key or a prefix as this node applies
 * them, from a revision on, until the client cancels. A client that reads slower than the
 * cluster writes is cut off once MAX_QUEUED_CHANGES changes or MAX_QUEUED_BYTES of keys and
 * values wait for it, rather than holding memory without bound: a count alone let one stalled
 * watcher hold 10,000 values of up to 1 MiB each, past the state's quota.
 *
 * The queue holds the changes the hub handed every matching watcher (one object, shared); what is
 * a watch's own is the message written to its stream, serialized, until the client reads it. So a
 * watch writes one message at a time, waiting for gRPC to hand it on, and reports each to the
 * controller's watch limits (watch-limits.ts): how many watches a client and the controller may
 * hold, and the budget of bytes all watches may hold undrained, past which the watch whose message
 * has waited longest unread is cut off (RESOURCE_EXHAUSTED).
 */
import type * as grpc from '@grpc/grpc-js';
import { refuseLongKey } from './kv-ops.js';
import { ServiceFailure, toServiceError } from './service-error.js';
import { StreamClosedError, cutOff, failStream, writeAndWait } from './stream-writer.js';
import type { OpenStreams } from './open-streams.js';
import { watchClientOf } from './watch-client.js';
import { WatchLimits, type WatchLease } from './watch-limits.js';
import type { KvChange, WatchSource } from './watch-source.js';

export const MAX_QUEUED_CHANGES = 10_000;
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** A WatchEvent's bytes beyond its key and value: gRPC's 5-byte frame, the type, tags, lengths and the revision. */
export const WATCH_EVENT_OVERHEAD_BYTES = 32;

const sizeOf = (c: KvChange): number => c.key.length + c.value.byteLength;

/** What a change's message holds in its stream until the client reads it (an upper bound). */
export function watchMessageBytes(c: KvChange): number {
  return Buffer.byteLength(c.key, 'utf8') + c.value.byteLength + WATCH_EVENT_OVERHEAD_BYTES;
}

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

/** open: where watches register so a stopping controller ends them with SHUTTING_DOWN (open-streams.ts). */
export function watchHandler(source: WatchSource, limits: WatchLimits = new WatchLimits(), open?: OpenStreams): grpc.handleServerStreamingCall<WatchRequestMsg, WatchEventMsg> {
  return (call) => {
    const req = call.request;
    const stream = call as grpc.ServerWritableStream<unknown, unknown>;
    try {
      check(req);
    } catch (err) {
      failStream(stream, toServiceError(err));
      return;
    }
    const queue: KvChange[] = [];
    let queuedBytes = 0;
    // Until subscribed there is nothing to cancel; end() may run during the replay.
    let cancel = (): void => undefined;
    let pumping = false;
    let ended = false;
    /** The revision of the message written and not yet handed on: where a cut-off watch resumes. */
    let writing: number | null = null;
    const endWith = (status: grpc.ServiceError): void => {
      if (ended) return;
      ended = true;
      cancel();
      failStream(stream, status);
    };
    const end = (err: unknown): void => endWith(toServiceError(err));
    const client = watchClientOf(call);
    const admission = limits.admit(client.key, client.name, (reason) => {
      const from = writing ?? queue[0]?.revision ?? null;
      const failure = new ServiceFailure('RESOURCE_EXHAUSTED', `${reason}; ${from === null ? 'watch again' : `watch again from revision ${from}`}`);
      if (writing === null) {
        end(failure); // nothing of it waits in the stream: the status reaches the client
        return;
      }
      // A status would wait behind what it has not read: only a reset lets go of the bytes now,
      // and the reset's code (ENHANCE_YOUR_CALM) is what reaches the client: RESOURCE_EXHAUSTED.
      ended = true;
      cancel();
      cutOff(stream, 'exhausted');
    });
    if (!admission.ok) {
      failStream(stream, toServiceError(new ServiceFailure('RESOURCE_EXHAUSTED', admission.message)));
      return;
    }
    const lease: WatchLease = admission.lease;
    const release = (): void => {
      cancel();
      lease.close();
    };
    call.on('cancelled', release);
    call.on('close', release);
    const untrack = open?.add((reason) => end(new ServiceFailure('SHUTTING_DOWN', reason)), { call, refuse: endWith });
    if (untrack !== undefined) call.on('close', untrack);

    const pump = async (): Promise<void> => {
      pumping = true;
      try {
        while (queue.length > 0 && !ended) {
          const c = queue.shift()!;
          queuedBytes -= sizeOf(c);
          const bytes = watchMessageBytes(c);
          writing = c.revision;
          // Waits while the budget is full and the watches cut off to make room close.
          if (!(await lease.hold(bytes))) return;
          if (ended) {
            lease.drained(bytes);
            return;
          }
          try {
            await writeAndWait(call, { type: c.type, key: c.key, value: c.value, revision: c.revision });
          } finally {
            lease.drained(bytes);
          }
          writing = null;
        }
      } catch (err) {
        if (err instanceof StreamClosedError) release();
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
    if (queue.length > 0 && !pumping) void pump();
  };
}
