/**
 * One HTTP/2 connection to a gRPC server, for stream calls: an agent's AgentSync stream. grpc-js's
 * client stack (resolver, load balancer, filter stack, object-mode streams, promises per message)
 * cost an agent's process about 20 µs of CPU per message received and answered, against about 7
 * µs here (docs/benchmarks.md, "Agents"); the wire is the same gRPC over HTTP/2.
 *
 * The connection is opened at the first call and again at the next call after it was lost or
 * the server sent GOAWAY. An attempt that has not connected within its deadline is given up, as
 * grpc-js channels are (connect-deadline.ts): 2 s while its SYN has no answer, 8 s in all once
 * its TCP connection is up (a slow handshake). Its calls end UNAVAILABLE and the next call dials
 * anew, with a new SYN: an agent cut off from its controllers reaches one at once when the
 * network heals, not at the kernel's next resend of an old attempt.
 * A connection without a call for IDLE_CONNECTION_MS is closed, as a grpc-js channel went idle.
 */
import http2 from 'node:http2';
import { BidiCall, type MessageCodec } from './bidi-call.js';
import type { StreamSecurity } from './stream-security.js';
import { CONNECT_DEADLINE_MS, ConnectAttemptDeadline, describeExpired, TCP_AWARE_DEADLINES } from '../connect-deadline.js';
import { answeredInHttp2, noteSpokeHttp2 } from './spoke-http2.js';

/**
 * Node's limit on what one session holds (MB), bytes waiting to be sent included: past it every
 * new stream is reset ENHANCE_YOUR_CALM for as long as the connection lives, and the connection
 * stays up, so it is never dialled again. grpc-js sets it out of reach for that reason, and so
 * does this client: what waits is bounded by what agents write before their watchdog gives up.
 */
const MAX_SESSION_MEMORY_MB = Number.MAX_SAFE_INTEGER;

/**
 * How long a connection with no call open is kept: grpc-js's channels went idle after 30 minutes
 * without a call and closed their connections. Without it an agent that failed over kept a
 * connection to every controller it had used, each answering the controller's keepalive pings
 * for as long as the agent ran.
 */
export const IDLE_CONNECTION_MS = 30 * 60 * 1000;

/** A session and the calls open on it. */
interface Dialled {
  readonly session: http2.ClientHttp2Session;
  calls: number;
  idle: NodeJS.Timeout | null;
  /** A probe's PING is waiting for its ACK (one at a time, however many calls went silent). */
  probing: boolean;
}

/**
 * How long a probed connection has to answer its PING. As long as a connection attempt whose
 * SYN has no answer is given: the caller has already heard nothing for its own timeout.
 */
export const PROBE_TIMEOUT_MS = CONNECT_DEADLINE_MS;

/** How a probe ended: its PING answered (the connection kept), the connection closed, or no probe made (none open, or one already out). */
export type ProbeOutcome = 'answered' | 'closed' | 'not-probed';

export class H2Connection {
  private dialled: Dialled | null = null;

  /** `address`: host:port (an IPv6 host in brackets). `idleMs`: how long a connection without calls is kept. */
  constructor(
    readonly address: string,
    private readonly security: StreamSecurity,
    private readonly maxReceiveBytes: number,
    private readonly idleMs: number = IDLE_CONNECTION_MS,
  ) {}

  /** Opens a bidirectional-streaming call to `path` (`/package.Service/Method`). */
  open<Req, Res>(path: string, codec: MessageCodec<Req, Res>): BidiCall<Req, Res> {
    const d = this.current();
    const stream = d.session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-accept-encoding': 'identity', 'user-agent': 'controller-agent-h2' },
      { endStream: false },
    );
    d.calls += 1;
    if (d.idle !== null) clearTimeout(d.idle);
    d.idle = null;
    stream.once('close', () => {
      d.calls -= 1;
      if (d.calls > 0 || d.session.closed || d.session.destroyed) return;
      // Closed gracefully (GOAWAY): a call opened meanwhile dials a new connection.
      d.idle = setTimeout(() => d.session.close(), this.idleMs);
      d.idle.unref();
    });
    return new BidiCall(stream, codec, this.maxReceiveBytes);
  }

  /**
   * A call on this connection heard nothing for its timeout: the connection itself may be dead
   * (a partition that drops packets leaves it open; the kernel retransmits on it with a growing
   * timeout, the server's keepalive closes its end only after 15 s, and its FIN is dropped too).
   * Every later call would be opened on it and go unanswered, and after a heal reach the server
   * only at the next retransmission, many seconds later. So a PING goes out; a connection that
   * does not answer it within PROBE_TIMEOUT_MS is closed, and the next call dials anew (whose
   * attempt has its connect deadline). A connection still connecting has its deadline already.
   */
  probe(): Promise<ProbeOutcome> {
    const d = this.dialled;
    if (d === null || d.probing || d.session.closed || d.session.destroyed || !answeredInHttp2(d.session)) return Promise.resolve('not-probed');
    d.probing = true;
    return new Promise((resolve) => {
      const unanswered = setTimeout(() => {
        if (this.dialled === d) this.dialled = null;
        d.session.destroy(new Error(`${this.address} did not answer a ping within ${PROBE_TIMEOUT_MS}ms: the connection is gone`));
        resolve('closed');
      }, PROBE_TIMEOUT_MS);
      unanswered.unref();
      const sent = d.session.ping((err) => {
        // Answered, or the session ended under it (then there is nothing left to close).
        clearTimeout(unanswered);
        d.probing = false;
        resolve(err === null ? 'answered' : 'closed');
      });
      if (!sent) {
        // Too many pings unanswered already: as good as no answer.
        clearTimeout(unanswered);
        if (this.dialled === d) this.dialled = null;
        d.session.destroy(new Error(`${this.address} has too many pings unanswered: the connection is gone`));
        resolve('closed');
      }
    });
  }

  /** Closes the connection at once: its calls end UNAVAILABLE; a later `open` dials again. */
  close(): void {
    this.dialled?.session.destroy();
    this.dialled = null;
  }

  private current(): Dialled {
    const d = this.dialled;
    if (d !== null && !d.session.closed && !d.session.destroyed) return d;
    return this.dial();
  }

  private dial(): Dialled {
    const tls = this.security.kind === 'tls';
    const session = http2.connect(`${tls ? 'https' : 'http'}://${this.address}`, {
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      ...(this.security.kind === 'tls' ? { secureContext: this.security.context } : {}),
    });
    const dialled: Dialled = { session, calls: 0, idle: null, probing: false };
    this.dialled = dialled;
    const forget = (): void => {
      if (this.dialled === dialled) this.dialled = null;
    };
    const attempt = new ConnectAttemptDeadline(TCP_AWARE_DEADLINES, (expired) => {
      if (session.destroyed) return;
      forget();
      session.destroy(new Error(describeExpired(this.address, expired)));
    });
    attempt.begin();
    // The socket says when the server answered the SYN (before TLS and HTTP/2); the session's
    // proxy of it forwards listeners to the real one.
    session.socket.once('connect', () => attempt.tcpConnected());
    // Connected when the server's SETTINGS arrive, as grpc-js's transport is READY: a socket
    // (or TLS session) that is up but says nothing is no HTTP/2 server yet, and stays
    // given up at the deadline instead of holding every later call of this connection.
    session.once('remoteSettings', () => {
      noteSpokeHttp2(session);
      attempt.end();
    });
    // A call in flight sees the error on its stream; the connection itself is then gone.
    session.on('error', forget);
    // GOAWAY: the calls open go on; new ones need a new connection.
    session.once('goaway', forget);
    session.once('close', () => {
      attempt.end();
      if (dialled.idle !== null) clearTimeout(dialled.idle);
      forget();
    });
    return dialled;
  }
}
