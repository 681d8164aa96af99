/**
 * How long one connection attempt may take before its owner gives it up for a new one, and the
 * timer that says when. One rule for every connection this project dials (peer links, the
 * cached channels between controllers, an agent's HTTP/2 connection to a controller):
 *
 * - An attempt whose SYN has no answer (a partition that drops packets, a host gone without a
 *   word) is given up after `synMs`. The kernel resends an unanswered SYN only after 1, 3, 7, 15,
 *   31 and 63 s and grpc-js sets no deadline of its own, so without it a healed peer was reached
 *   at the kernel's next resend; a new attempt sends a new SYN at once. Two seconds keep a SYN
 *   going out at least every second (the attempt's own resend comes at 1 s).
 * - An attempt whose TCP connection is up (the peer answered its SYN) is only waiting for its
 *   handshake (TLS on a host at full load, HTTP/2 SETTINGS from a paused process's backlog): it
 *   gets `handshakeMs` in all.
 *
 * Before, an owner that did not know whether the SYN was answered gave every fourth attempt in
 * a row 8 s whatever it waited for: an unanswered one then sent its SYNs at 0, 1, 3 and 7 s, and
 * a peer healed in such a gap was reached up to 4 s late (chaos/netns, docs/fault-injection.md).
 */

export const CONNECT_DEADLINE_MS = 2_000;
export const HANDSHAKE_DEADLINE_MS = 4 * CONNECT_DEADLINE_MS;

/** How long an attempt may take: while its SYN is unanswered, and in all once its TCP connection is up. */
export interface ConnectDeadlines {
  readonly synMs: number;
  readonly handshakeMs: number;
}

export const TCP_AWARE_DEADLINES: ConnectDeadlines = { synMs: CONNECT_DEADLINE_MS, handshakeMs: HANDSHAKE_DEADLINE_MS };

/** What a given-up attempt was waiting for, for the owner's message. */
export interface ExpiredAttempt {
  /** Its deadline: `synMs`, or `handshakeMs` when its TCP connection was up. */
  readonly afterMs: number;
  readonly tcpConnected: boolean;
}

/** Why an attempt was given up, in words for a log line or a call's error. */
export function describeExpired(address: string, e: ExpiredAttempt): string {
  return e.tcpConnected
    ? `no connection to ${address} within ${e.afterMs}ms (its TCP connection was up; the handshake did not finish)`
    : `no connection to ${address} within ${e.afterMs}ms (no answer to its TCP connection attempt)`;
}

/**
 * The deadline of one connection attempt at a time. The owner calls `begin` when an attempt
 * starts, `tcpConnected` when its TCP connection is up, and `end` when it connected, failed or
 * was closed; `onExpired` runs when an attempt outlives its deadline.
 */
export class ConnectAttemptDeadline {
  private timer: NodeJS.Timeout | null = null;
  /** The attempt under way has its TCP connection: reset when it ends. */
  private tcpUp = false;

  constructor(
    private readonly deadlines: ConnectDeadlines,
    private readonly onExpired: (e: ExpiredAttempt) => void,
  ) {}

  /** An attempt began; one already timed keeps its deadline. */
  begin(): void {
    if (this.timer !== null) return;
    const { synMs, handshakeMs } = this.deadlines;
    // Past synMs, only an attempt whose SYN was answered waits on, to handshakeMs in all.
    this.arm(synMs, () => (this.tcpUp && handshakeMs > synMs ? this.arm(handshakeMs - synMs, () => this.expire(handshakeMs)) : this.expire(synMs)));
  }

  /** The attempt under way has its TCP connection up. */
  tcpConnected(): void {
    this.tcpUp = true;
  }

  /** The attempt connected, failed or was closed: no deadline until the next `begin`. */
  end(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.tcpUp = false;
  }

  private expire(afterMs: number): void {
    const tcpConnected = this.tcpUp;
    this.end();
    this.onExpired({ afterMs, tcpConnected });
  }

  private arm(ms: number, then: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      then();
    }, ms);
    this.timer.unref();
  }
}
