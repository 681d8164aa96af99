/**
 * Writes to a server stream without outrunning the client: each write waits for 'drain' when
 * gRPC's buffer is full, and stops once the client has gone.
 */
import type * as grpc from '@grpc/grpc-js';

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
