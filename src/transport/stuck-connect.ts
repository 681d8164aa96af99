/**
 * A connection attempt that gets no answer at all. A partition that drops packets, or a host
 * gone without a word, leaves the attempt's SYN unanswered; the kernel sends it again after 1,
 * 3, 7, 15, 31 and 63 s (tcp_syn_retries = 6), and grpc-js sets no deadline of its own on the
 * attempt. So after a heal a channel went on waiting for the kernel's next resend: up to 32 s
 * with every member showing the healed one offline, the longer the fault the longer the wait.
 * A userspace fault proxy answers every attempt at once and never shows it.
 *
 * A channel that stays CONNECTING past a deadline is given up for a new one, as etcd's peer
 * dialer gives up after its dial timeout: a new attempt sends a new SYN at once. Two seconds
 * keep a SYN going out at least every second (the attempt's own resend comes at 1 s). Every
 * fourth attempt in a row gets four times as long, so a handshake that is merely slow (a host
 * at full load) still completes. The abandoned attempt's socket stays with grpc-js until the
 * kernel gives it up (about 2 minutes): some 36 sockets per unreachable peer at most.
 */
import * as grpc from '@grpc/grpc-js';

export const CONNECT_DEADLINE_MS = 2_000;
export const PATIENT_CONNECT_DEADLINE_MS = 4 * CONNECT_DEADLINE_MS;

/** The deadline of an attempt after `abandonedInARow` attempts given up without connecting. */
export function connectDeadlineMs(abandonedInARow: number): number {
  return abandonedInARow % 4 === 3 ? PATIENT_CONNECT_DEADLINE_MS : CONNECT_DEADLINE_MS;
}

export interface StuckConnectWatch {
  /** Stops watching (the channel is being closed). */
  stop(): void;
  /** Whether the channel has been READY since the watch began. */
  readonly connected: boolean;
}

/**
 * Calls `onStuck` once, when `channel` has stayed CONNECTING for `deadlineMs`: its first
 * connection or the redial after a lost one (the usual case: a partition breaks a working
 * connection, and the redial's SYN is dropped). The owner then closes it and opens another.
 */
export function watchStuckConnect(channel: Pick<grpc.Channel, 'getConnectivityState' | 'watchConnectivityState'>, deadlineMs: number, onStuck: () => void): StuckConnectWatch {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let connected = false;
  const disarm = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const observe = (state: grpc.connectivityState): void => {
    if (state === grpc.connectivityState.READY) connected = true;
    if (state !== grpc.connectivityState.CONNECTING) return disarm();
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      if (stopped) return;
      stopped = true;
      onStuck();
    }, deadlineMs);
    timer.unref();
  };
  const follow = (last: grpc.connectivityState): void => {
    channel.watchConnectivityState(last, Infinity, () => {
      if (stopped) return;
      const now = channel.getConnectivityState(false);
      if (now === grpc.connectivityState.SHUTDOWN) {
        stopped = true;
        return disarm();
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
      disarm();
    },
    get connected() {
      return connected;
    },
  };
}
