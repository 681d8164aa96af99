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
 * keep a SYN going out at least every second (the attempt's own resend comes at 1 s). A
 * handshake that is merely slow (TLS on a host at full load) needs longer, and gets it:
 *
 * - `TCP_AWARE_DEADLINES` (peer links): an attempt whose TCP connection is up (the peer
 *   answered its SYN: tcp-observed-credentials.ts) is given `handshakeMs`; one whose SYN has no
 *   answer never is. Before, every fourth attempt in a row got 8 s whatever it was waiting for,
 *   and an unanswered one then sent its SYNs at 0, 1, 3 and 7 s: a peer healed in such a gap
 *   was reached up to 4 s late (measured between network namespaces with nftables drops, base
 *   500 ms: a member isolated for 16-19 s showed online again 1.0-1.65 s after the heal, over
 *   its 1.5 s target, against 0.2-0.5 s after 4-13 s; chaos/netns).
 * - `connectDeadlineMs(abandonedInARow)` (channels whose owner cannot watch their TCP
 *   connection: shared subchannels, the agent's own HTTP/2 connection): every fourth attempt in
 *   a row gets four times as long.
 *
 * The abandoned attempt's socket stays with grpc-js until the kernel gives it up (about 2
 * minutes): some 60 sockets per unreachable peer at most.
 */
import * as grpc from '@grpc/grpc-js';

export const CONNECT_DEADLINE_MS = 2_000;
export const PATIENT_CONNECT_DEADLINE_MS = 4 * CONNECT_DEADLINE_MS;

/** How long an attempt may stay CONNECTING: while its SYN is unanswered, and once its TCP connection is up. */
export interface ConnectDeadlines {
  readonly synMs: number;
  readonly handshakeMs: number;
}

export const TCP_AWARE_DEADLINES: ConnectDeadlines = { synMs: CONNECT_DEADLINE_MS, handshakeMs: PATIENT_CONNECT_DEADLINE_MS };

/** The deadline of an attempt after `abandonedInARow` attempts given up without connecting. */
export function connectDeadlineMs(abandonedInARow: number): number {
  return abandonedInARow % 4 === 3 ? PATIENT_CONNECT_DEADLINE_MS : CONNECT_DEADLINE_MS;
}

export interface StuckConnectWatch {
  /** Stops watching (the channel is being closed). */
  stop(): void;
  /** Whether the channel has been READY since the watch began. */
  readonly connected: boolean;
  /** The attempt under way has its TCP connection (with `ConnectDeadlines`: it gets `handshakeMs`). */
  tcpConnected(): void;
}

/**
 * Calls `onStuck` once, when `channel` has stayed CONNECTING past its deadline: its first
 * connection or the redial after a lost one (the usual case: a partition breaks a working
 * connection, and the redial's SYN is dropped). The owner then closes it and opens another.
 * `deadline`: a fixed time, or `ConnectDeadlines` (then the owner reports `tcpConnected`).
 */
export function watchStuckConnect(channel: Pick<grpc.Channel, 'getConnectivityState' | 'watchConnectivityState'>, deadline: number | ConnectDeadlines, onStuck: () => void): StuckConnectWatch {
  const synMs = typeof deadline === 'number' ? deadline : deadline.synMs;
  const handshakeMs = typeof deadline === 'number' ? deadline : deadline.handshakeMs;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let connected = false;
  /** This attempt's TCP connection is up: reset whenever the channel leaves CONNECTING. */
  let tcpUp = false;
  const disarm = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    tcpUp = false;
  };
  const arm = (ms: number, then: () => void): void => {
    timer = setTimeout(() => {
      timer = null;
      if (!stopped) then();
    }, ms);
    timer.unref();
  };
  const giveUp = (): void => {
    stopped = true;
    onStuck();
  };
  const observe = (state: grpc.connectivityState): void => {
    if (state === grpc.connectivityState.READY) connected = true;
    if (state !== grpc.connectivityState.CONNECTING) return disarm();
    if (timer !== null) return;
    // Past synMs, only an attempt whose SYN was answered waits on, to handshakeMs in all.
    arm(synMs, () => (tcpUp && handshakeMs > synMs ? arm(handshakeMs - synMs, giveUp) : giveUp()));
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
    tcpConnected: () => {
      tcpUp = true;
    },
  };
}
