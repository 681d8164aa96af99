/**
 * The wait for a channel to connect, shared by unary calls (ControllerClient) and streams
 * (stream-context.ts): until it is READY or has failed (refused, unresolvable, a TLS handshake),
 * never past the deadline. A failed connection is not waited for: the call then fails at once
 * with that cause, and the failover moves on instead of waiting out the timeout.
 */
import * as grpc from '@grpc/grpc-js';

const SETTLED: ReadonlySet<grpc.connectivityState> = new Set([grpc.connectivityState.READY, grpc.connectivityState.TRANSIENT_FAILURE, grpc.connectivityState.SHUTDOWN]);

/** What of a client's channel the wait reads. */
type WatchedChannel = Pick<ReturnType<grpc.Client['getChannel']>, 'getConnectivityState' | 'watchConnectivityState'>;

/** True once the channel is READY or has failed; false if it is still connecting at `deadline` (ms since the epoch). */
export function channelSettled(channel: WatchedChannel, deadline: number): Promise<boolean> {
  return new Promise((resolve) => {
    const check = (): void => {
      // Closed: asking it to connect (getConnectivityState(true)) would start it connecting again,
      // and a second wait on it then waited out its deadline (a client closed mid-call).
      if (channel.getConnectivityState(false) === grpc.connectivityState.SHUTDOWN) {
        resolve(true);
        return;
      }
      const state = channel.getConnectivityState(true);
      if (SETTLED.has(state)) resolve(true);
      else if (Date.now() >= deadline) resolve(false);
      else channel.watchConnectivityState(state, deadline, () => check());
    };
    check();
  });
}
