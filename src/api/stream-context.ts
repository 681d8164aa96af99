/**
 * What a server stream on one endpoint needs from the client that opens it, and the wait for
 * the channel to connect (a followed stream has no deadline, so a dead endpoint is caught here).
 */
import * as grpc from '@grpc/grpc-js';

export interface StreamContext {
  readonly endpoint: string;
  readonly channel: grpc.Client;
  readonly timeoutMs: number;
  /** Where the open stream registers, so closing the client cancels it. */
  readonly streams: Set<grpc.ClientReadableStream<unknown>>;
  /** The client was closed: a cancelled stream is then a normal end. */
  readonly closed: () => boolean;
}

/** Thrown when the channel could not connect in time; shaped as a gRPC failure for the failover. */
class ConnectFailure extends Error {
  readonly code = grpc.status.UNAVAILABLE;
  readonly details: string;
  constructor(endpoint: string, timeoutMs: number) {
    super(`could not connect to ${endpoint} within ${timeoutMs}ms`);
    this.details = this.message;
  }
}

export function waitForReady(ctx: StreamContext): Promise<void> {
  return new Promise((resolve, reject) => {
    ctx.channel.waitForReady(Date.now() + ctx.timeoutMs, (err) => (err ? reject(new ConnectFailure(ctx.endpoint, ctx.timeoutMs)) : resolve()));
  });
}
