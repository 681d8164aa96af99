/**
 * A grpc-js channel whose connection attempt outlives its deadline (connect-deadline.ts) is
 * given up for a new one, as etcd's peer dialer gives up after its dial timeout: a new attempt
 * sends a new SYN at once, where the old one waited for the kernel's next resend (up to 32 s,
 * the longer the fault the longer the wait; a userspace fault proxy answers every attempt at
 * once and never shows it). The channel's first connection and every redial after a lost one
 * (the usual case: a partition breaks a working connection, and the redial's SYN is dropped)
 * are watched.
 *
 * The owner learns when an attempt's TCP connection is up from the channel's credentials
 * (tcp-observed-credentials.ts) and reports it with `tcpConnected`: only such an attempt is
 * given the handshake's time.
 *
 * The abandoned attempt's socket stays with grpc-js until the kernel gives it up (about 2
 * minutes): some 60 sockets per unreachable peer at most.
 */
import * as grpc from '@grpc/grpc-js';
import { ConnectAttemptDeadline, type ConnectDeadlines } from './connect-deadline.js';

export interface StuckConnectWatch {
  /** Stops watching (the channel is being closed). */
  stop(): void;
  /** Whether the channel has been READY since the watch began. */
  readonly connected: boolean;
  /** The attempt under way has its TCP connection (it gets `handshakeMs`). */
  tcpConnected(): void;
}

/**
 * Calls `onStuck` once, when `channel` has stayed CONNECTING past its deadline. The owner then
 * closes it and opens another. `deadline`: `ConnectDeadlines`, or one time for every attempt.
 */
export function watchStuckConnect(channel: Pick<grpc.Channel, 'getConnectivityState' | 'watchConnectivityState'>, deadline: number | ConnectDeadlines, onStuck: () => void): StuckConnectWatch {
  const deadlines = typeof deadline === 'number' ? { synMs: deadline, handshakeMs: deadline } : deadline;
  let stopped = false;
  let connected = false;
  const attempt = new ConnectAttemptDeadline(deadlines, () => {
    if (stopped) return;
    stopped = true;
    onStuck();
  });
  const observe = (state: grpc.connectivityState): void => {
    if (state === grpc.connectivityState.READY) connected = true;
    if (state === grpc.connectivityState.CONNECTING) attempt.begin();
    else attempt.end();
  };
  const follow = (last: grpc.connectivityState): void => {
    channel.watchConnectivityState(last, Infinity, () => {
      if (stopped) return;
      const now = channel.getConnectivityState(false);
      if (now === grpc.connectivityState.SHUTDOWN) {
        stopped = true;
        return attempt.end();
      }
      observe(now);
      follow(now);
    });
  };
  const first = channel.getConnectivityState(false);
  observe(first);
  follow(first);
  return {
    stop: () => {
      stopped = true;
      attempt.end();
    },
    get connected() {
      return connected;
    },
    tcpConnected: () => attempt.tcpConnected(),
  };
}
