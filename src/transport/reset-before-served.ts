/**
 * Streams that are gone before grpc-js sees them are not handed to it. Node emits an HTTP/2
 * server's 'stream' event a tick after it reads the stream's HEADERS; when the client's
 * RST_STREAM for it arrived in the same read, the stream is already destroyed by then, and
 * grpc-js, answering a path it has no handler for (or a content-type that is not gRPC's) from
 * that event, calls `stream.respond`, which throws ERR_HTTP2_INVALID_STREAM out of the event:
 * an uncaught exception. One TLS write of 300 HEADERS + DATA + RST_STREAM for an unknown path,
 * from any certificate the port accepts (an agent's too: no interceptor has run yet), took a
 * controller down (attack round 17). A stream of a known path reset the same way cost a call
 * set-up (interceptors, deadline timer) for nothing. A dropped stream keeps an 'error' listener,
 * as grpc-js gives every stream it sees: without it, a first version of this fix was itself taken
 * down by 3,000 such streams in one write (ERR_HTTP2_STREAM_ERROR, REFUSED_STREAM, unheard).
 *
 * A client may also reset its calls as fast as it sends them (HTTP/2 "rapid reset"): a reset
 * call frees its place among the connection's 1,024 streams at once, so nothing paces the
 * client, and libuv reads a busy socket up to 32 times a turn, every call set up in that turn.
 * Health checks sent and reset on two connections of an agent's certificate held a leader's loop
 * 1.2-2.5 s and cost it its term (attack round 17; nghttp2's own limit let each connection reset
 * about 6,800 before its GOAWAY). So the streams a client resets before their answer (dropped
 * here, or aborted once served) spend a budget of its connection, RESET_BUDGET: past it the
 * connection is ended, GOAWAY ENHANCE_YOUR_CALM, as grpc-go and nghttp2 do, and what it had
 * sent and not yet been read is never parsed. Resets this server makes itself (server-reset.ts)
 * are not the client's and cost nothing. An honest client resets a call when it gives up on
 * it (a deadline, a cancelled watch): a handful a second, and a stream open for RESET_FREE_AFTER_MS
 * costs nothing, so many cancelled at once (forwards, watches) never end their connection.
 *
 * The same charged resets also spend a budget of the client's certificate (its fingerprint),
 * CERTIFICATE_RESET_BUDGET, shared by all its connections: with the connection's budget alone,
 * one certificate opening many connections had a fresh 200 on each (session 51). Past it the
 * connection that overspent is ended the same way. Not by CN, as the watch caps name a client:
 * certificates of different holders may share a CN (an agent whose id is a member's id, an
 * agent named like an operator), and a budget spent by one would end the other's connections.
 * Without TLS nothing names a client, so only the connection's budget holds.
 *
 * grpc-js keeps the HTTP/2 server its connection injector made in a private map; the one this
 * module looks for is the one that appears there while the injector is made, and when the
 * installed grpc-js no longer keeps that map this throws, naming it, rather than leave the
 * port exposed unnoticed (header-list-cap.ts reaches into grpc-js the same way).
 */
import * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { RateBudget } from '../util/rate-budget.js';
import { wasResetByServer } from './server-reset.js';
import { deferDestroy } from './session-destroy-deferred.js';

type Injector = ReturnType<grpc.Server['createConnectionInjector']>;

interface ServerFields {
  readonly http2Servers?: unknown;
}

function http2ServersOf(server: grpc.Server): ReadonlyMap<unknown, unknown> {
  const servers = (server as unknown as ServerFields).http2Servers;
  if (!(servers instanceof Map)) {
    throw new Error('invariant: grpc-js Server has no http2Servers map: streams reset before they are served cannot be kept from it (src/transport/reset-before-served.ts)');
  }
  return servers;
}

function isHttp2Server(value: unknown): value is http2.Http2Server {
  return typeof value === 'object' && value !== null && 'listeners' in value && 'on' in value && 'removeAllListeners' in value;
}

type StreamListener = (stream: http2.ServerHttp2Stream, ...rest: unknown[]) => void;

/** The part of a server stream this module uses (a fake in tests). */
export interface ServedStream {
  readonly destroyed: boolean;
  readonly closed: boolean;
  destroy(): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * True when `stream` is gone (Node's respond() would throw on it): it is then destroyed, given an
 * 'error' listener, and not to be served. A stream destroyed with an error (REFUSED_STREAM, for
 * the streams of a read past nghttp2's GOAWAY) emits it a tick later; grpc-js listens on every
 * stream it sees, and an unheard 'error' ends the process.
 */
export function droppedIfGone(stream: ServedStream): boolean {
  if (!stream.destroyed && !stream.closed) return false;
  stream.on('error', () => undefined);
  stream.destroy();
  return true;
}

/** Client resets a connection may make: a burst, and a rate after it (per second). */
export const RESET_BUDGET = { burst: 200, perSecond: 50 } as const;

/**
 * Client resets one certificate may make across all its connections: twice a connection's, so a
 * client with a second connection (ctl beside a watch, a controller's peer link beside its
 * forwards) is not held to less than one connection alone, while one certificate reconnecting or
 * opening many connections no longer multiplies its budget.
 */
export const CERTIFICATE_RESET_BUDGET = { burst: 400, perSecond: 100 } as const;

/** Certificates whose reset budgets are kept; past it the longest-kept is dropped (it restarts full). */
export const MAX_CERTIFICATE_BUDGETS = 10_000;

/**
 * A stream reset after it was open this long costs no budget. A client can reset such streams
 * no faster than its streams' cap (max_streams_per_connection) a second, as fast as it may make
 * ordinary calls; and honest clients reset many long-open streams at once: a follower gives up
 * all its forwards to a silent leader on one connection, a process cancels its watches, the
 * swarm ends its agents' streams (200 a connection).
 */
export const RESET_FREE_AFTER_MS = 1_000;

/** Whether a client's reset of a stream open for `openMs` spends the connection's budget. */
export function resetCharged(openMs: number): boolean {
  return openMs < RESET_FREE_AFTER_MS;
}

export interface ResetEvents {
  /** A stream kept from grpc-js: its client had reset it already. */
  dropped(): void;
  /** A connection ended for resetting streams past RESET_BUDGET, or its certificate's past CERTIFICATE_RESET_BUDGET. */
  flooded(over: ResetBudgetKind): void;
}

/** Whose budget a flood overspent: the connection's, or its certificate's across connections. */
export type ResetBudgetKind = 'connection' | 'certificate';

type Budget = { readonly burst: number; readonly perSecond: number };

/** What the guard needs of a connection (a fake in tests). */
export interface ResetSession {
  readonly destroyed: boolean;
  goaway(code: number): void;
  destroy(): void;
}

/** Each connection's and each certificate's budget of client resets; ends the connection that overspends either. */
export class ResetGuard {
  private readonly budgets = new WeakMap<ResetSession, RateBudget>();
  /** Insertion order is age: the first is dropped past MAX_CERTIFICATE_BUDGETS. */
  private readonly certificates = new Map<string, RateBudget>();
  /** Ended here: its destroy comes a turn later (session-destroy-deferred.ts), and counts once. */
  private readonly ended = new WeakSet<ResetSession>();

  constructor(
    private readonly now: () => number,
    private readonly onFlood: (over: ResetBudgetKind) => void,
    private readonly budget: Budget = RESET_BUDGET,
    private readonly certificateBudget: Budget = CERTIFICATE_RESET_BUDGET,
  ) {}

  /**
   * A client reset a stream of `session`, whose client certificate is `certificate` (null: none,
   * plaintext); false once that ended the connection.
   */
  reset(session: ResetSession | undefined, certificate: string | null = null): boolean {
    if (session === undefined || session.destroyed || this.ended.has(session)) return false;
    const now = this.now();
    let budget = this.budgets.get(session);
    if (budget === undefined) {
      budget = new RateBudget(this.budget.perSecond, this.budget.burst, now);
      this.budgets.set(session, budget);
    }
    if (!budget.take(now)) return this.end(session, 'connection');
    if (certificate !== null && !this.certificateBudgetOf(certificate, now).take(now)) return this.end(session, 'certificate');
    return true;
  }

  private certificateBudgetOf(certificate: string, now: number): RateBudget {
    let budget = this.certificates.get(certificate);
    if (budget === undefined) {
      if (this.certificates.size >= MAX_CERTIFICATE_BUDGETS) this.certificates.delete(this.certificates.keys().next().value!);
      budget = new RateBudget(this.certificateBudget.perSecond, this.certificateBudget.burst, now);
      this.certificates.set(certificate, budget);
    }
    return budget;
  }

  private end(session: ResetSession, over: ResetBudgetKind): false {
    // goaway() first: destroy(err, code) alone sends GOAWAY NO_ERROR.
    this.ended.add(session);
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
    this.onFlood(over);
    return false;
  }
}

/** What a session's socket says of its client certificate (a TLS socket; anything else has none). */
interface CertifiedSocket {
  getPeerCertificate?: () => { readonly fingerprint256?: string } | null | undefined;
}

/**
 * The client certificate of `session`'s connection, `cert:<fingerprint>`: one certificate, never
 * another holder's with the same CN; null without one (plaintext).
 */
export function certificateOf(session: { readonly socket?: unknown } | undefined): string | null {
  const socket = session?.socket as CertifiedSocket | undefined;
  if (typeof socket?.getPeerCertificate !== 'function') return null;
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || cert.fingerprint256 === undefined) return null;
  return `cert:${cert.fingerprint256}`;
}

/**
 * A connection injector of `server` whose HTTP/2 server hands grpc-js only streams that are
 * still open when their 'stream' event comes, and ends a connection whose client resets its
 * streams past RESET_BUDGET.
 */
export function injectorDroppingResetStreams(server: grpc.Server, credentials: grpc.ServerCredentials, events: Partial<ResetEvents> = {}, now: () => number = () => performance.now()): Injector {
  const before = new Set(http2ServersOf(server).keys());
  const injector = server.createConnectionInjector(credentials);
  const made = [...http2ServersOf(server).keys()].filter((s) => !before.has(s));
  const h2 = made[0];
  if (made.length !== 1 || !isHttp2Server(h2)) {
    injector.destroy();
    throw new Error(`invariant: grpc-js made ${made.length} HTTP/2 servers for one connection injector, expected 1 (src/transport/reset-before-served.ts)`);
  }
  const guard = new ResetGuard(now, (over) => events.flooded?.(over));
  // Read at a session's first charged reset and kept: a connection's certificate never changes.
  const certificates = new WeakMap<http2.Http2Session, string | null>();
  const charge = (session: http2.Http2Session | undefined): void => {
    if (session === undefined) return;
    let certificate = certificates.get(session);
    if (certificate === undefined) {
      certificate = certificateOf(session);
      certificates.set(session, certificate);
    }
    guard.reset(session, certificate);
  };
  const served = h2.listeners('stream') as StreamListener[];
  if (served.length === 0) {
    // A grpc-js that hears streams some other way: wrapping nothing would leave every call unanswered.
    injector.destroy();
    throw new Error("invariant: grpc-js's HTTP/2 server of a connection injector has no 'stream' listener to guard (src/transport/reset-before-served.ts)");
  }
  h2.removeAllListeners('stream');
  // Before grpc-js hears of the session: a destroy from inside parsing can abort the process.
  h2.prependListener('session', (session: http2.ServerHttp2Session) => deferDestroy(session));
  h2.on('stream', (stream: http2.ServerHttp2Stream, ...rest: unknown[]) => {
    if (droppedIfGone(stream)) {
      events.dropped?.();
      charge(stream.session);
      return;
    }
    // 'aborted': closed before its answer ended, by the client's reset (charged unless it was
    // open long enough) or by this server's own cut (server-reset.ts: never charged, so a cap's
    // cuts of one connection's calls do not also end the connection).
    const openedAt = now();
    stream.once('aborted', () => {
      if (!wasResetByServer(stream) && resetCharged(now() - openedAt)) charge(stream.session);
    });
    for (const listener of served) listener.call(h2, stream, ...rest);
  });
  return injector;
}
