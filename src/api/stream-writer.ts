/**
 * Writes to a server stream without outrunning the client: each write waits for 'drain' when
 * gRPC's buffer is full, and stops once the client has gone. Ends one with an error the client
 * hears, or cuts off a client that does not read.
 */
import * as grpc from '@grpc/grpc-js';
import { resetCall, type ResetReason } from '../transport/call-reset.js';

/** How long a failed stream's status may wait behind messages its client has not read before the stream is reset. */
export const STATUS_GRACE_MS = 30_000;

export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError';
}

export function isGone(call: grpc.ServerWritableStream<unknown, unknown>): boolean {
  return call.cancelled || call.destroyed || call.writableEnded;
}

export async function writeWithBackpressure<T>(call: grpc.ServerWritableStream<unknown, T>, message: T): Promise<void> {
  if (isGone(call as grpc.ServerWritableStream<unknown, unknown>)) throw new StreamClosedError('the client went away');
  if (call.write(message)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', gone);
      call.off('close', gone);
      resolve();
    };
    const gone = (): void => {
      call.off('drain', done);
      call.off('cancelled', gone);
      call.off('close', gone);
      reject(new StreamClosedError('the client went away'));
    };
    call.on('drain', done);
    call.on('cancelled', gone);
    call.on('close', gone);
  });
}

/**
 * Writes one message and resolves once gRPC has handed it on (its HTTP/2 write completed, which
 * waits for the client's flow-control window): until then the serialized message is held for
 * this client. A caller that writes one message at a time holds at most one per stream.
 */
export async function writeAndWait<T>(call: grpc.ServerWritableStream<unknown, T>, message: T): Promise<void> {
  if (isGone(call as grpc.ServerWritableStream<unknown, unknown>)) throw new StreamClosedError('the client went away');
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err: StreamClosedError | null): void => {
      if (settled) return;
      settled = true;
      call.off('cancelled', gone);
      call.off('close', gone);
      if (err === null) resolve();
      else reject(err);
    };
    const gone = (): void => settle(new StreamClosedError('the client went away'));
    call.on('cancelled', gone);
    call.on('close', gone);
    call.write(message, (err: Error | null | undefined) => settle(err ? new StreamClosedError(`the write failed: ${err.message}`) : null));
  });
}

/**
 * Resets the stream of a client that does not read and lets go of what the handler holds for
 * it: a write waiting for 'drain' fails with StreamClosedError. `exhausted` when it is cut off to
 * bound the server's memory: its client then sees RESOURCE_EXHAUSTED rather than CANCELLED.
 */
export function cutOff(call: grpc.ServerWritableStream<unknown, unknown>, reason: ResetReason = 'cancel'): void {
  resetCall(call, reason);
  if (!call.destroyed) call.destroy();
}

/**
 * Ends a server stream with a status (toServiceError's, or one of its own), after the messages already written. grpc-js
 * sends a server stream's status on its 'error' event; destroy(err) sends none, and its client
 * waited for its own deadline (a refused second snapshot save: 60 s). A status still behind
 * unread messages after `graceMs` is given up: the stream is cut off.
 */
export function failStream(call: grpc.ServerWritableStream<unknown, unknown>, status: grpc.ServiceError, graceMs = STATUS_GRACE_MS): void {
  if (isGone(call)) return;
  call.emit('error', status);
  if (call.writableFinished) return;
  const grace = setTimeout(() => {
    if (!call.writableFinished) cutOff(call, status.code === grpc.status.RESOURCE_EXHAUSTED ? 'exhausted' : 'cancel');
  }, graceMs);
  grace.unref();
  call.once('close', () => clearTimeout(grace));
}
