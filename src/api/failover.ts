/**
 * The client's failover: a call tries the endpoints in order, starting from the last one that
 * answered. It moves on when the endpoint did not answer (UNAVAILABLE or DEADLINE_EXCEEDED
 * without an `error-code`) or answered that it cannot serve anyone right now (NO_QUORUM: a
 * node cut off from a quorum says so at once; NO_LEADER, NOT_LEADER, SHUTTING_DOWN); any other
 * answer is final. When no endpoint can serve, the last answer is the error (exit 1), and only
 * when none answered at all is it UNREACHABLE (exit 3).
 *
 * A call opens the connection to the endpoint it starts from, and to every other endpoint once
 * that one fails or has not answered within a head start (HEAD_START_SHARE); an endpoint whose
 * connection is not up within the connect timeout is skipped as unreachable, so a hung
 * endpoint (it accepts TCP and never answers) costs one connect timeout, not a request deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { ApiError, errorCodeOf, tidyDetails, type ApiErrorCode } from './errors.js';
import { describeOversizedMessage } from './request-size.js';
import { describeHttpStatus, describeNotGrpc } from './not-grpc.js';
import { describeTlsFailure } from './tls-errors.js';

/** The parts of a failed gRPC call that decide what to do next. */
export interface CallFailure {
  readonly code: number;
  readonly details: string;
  readonly metadata: grpc.Metadata | undefined;
}

export function asCallFailure(err: unknown): CallFailure | null {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'number') return null;
  const details = tidyDetails('details' in err && typeof err.details === 'string' ? err.details : err.message);
  const metadata = 'metadata' in err && err.metadata instanceof grpc.Metadata ? err.metadata : undefined;
  return { code: err.code, details, metadata };
}

export type Outcome =
  /**
   * The endpoint did not answer: try the next one. `tls`: why, when the TLS handshake failed;
   * `notGrpc`: what it is not, naming it, when it answered in something other than HTTP/2.
   */
  | { readonly kind: 'unreachable'; readonly reason: string; readonly tls?: string; readonly notGrpc?: string }
  /** The endpoint answered but cannot serve now: try the next one, report this if none does better. */
  | { readonly kind: 'retryable'; readonly error: ApiError }
  | { readonly kind: 'final'; readonly error: unknown };

export function statusName(code: number): string {
  return grpc.status[code] ?? `status ${code}`;
}

function fallbackCode(grpcCode: number): ApiErrorCode {
  if (grpcCode === grpc.status.NOT_FOUND) return 'NOT_FOUND';
  if (grpcCode === grpc.status.INVALID_ARGUMENT) return 'INVALID_ARGUMENT';
  return 'INTERNAL';
}

/**
 * No endpoint answered. `silent`: those whose connection was still not up at the connect timeout
 * (it accepted TCP and never answered, or a SYN went unanswered): a TLS handshake of ctl's own
 * (tls-probe.ts) would wait out its timeout there too and could find nothing a refusal did not.
 */
export class UnreachableError extends ApiError {
  /** `notGrpc`: those that answered in plaintext, but not in gRPC: they need no TLS either. */
  constructor(
    message: string,
    readonly silent: readonly string[],
    readonly notGrpc: readonly string[] = [],
  ) {
    super('UNREACHABLE', message);
  }
}

/** Answers that speak only for the node that gave them: another node may do better. */
const RETRY_ELSEWHERE: ReadonlySet<ApiErrorCode> = new Set(['NO_QUORUM', 'NO_LEADER', 'NOT_LEADER', 'SHUTTING_DOWN']);
const NOTHING_MORE: ReadonlySet<ApiErrorCode> = new Set();

/**
 * The part of the connect timeout the preferred endpoint has to answer before the others are
 * opened as well (the head start RFC 8305 gives one address before racing the next). A client
 * that gets its answers from one endpoint then holds one connection, not one per member: 256
 * new clients of a 5-member cluster held 1,280 connections and their first puts took 3.1-3.5 s,
 * against 1.2-1.4 s with one connection each (docs/benchmarks.md). Half, not RFC
 * 8305's 250 ms: a client process that opens many connections at once takes longer than that
 * to see them up, and opened the others too. The others still connect while the preferred one
 * has its other half, so a dead preferred endpoint costs one connect timeout, as before. It
 * runs until the preferred endpoint answers, not until it connects: one that connected and then
 * did not answer had the others opened only when its request timed out, and a hung one among
 * them then cost a whole connect timeout more than before (2.5 s on ctl's 5 s timeout). A call
 * that lasts (ctl watch, audit --follow, snapshot save) so has the others opened as well, idle,
 * as every call had before the head start.
 */
export const HEAD_START_SHARE = 0.5;

/** How a Failover reaches its endpoints' connections (ControllerClient's channels). */
export interface Connections {
  /** Starts connecting to `endpoint` if it is not connected (never waits). */
  warm(endpoint: string): void;
  /**
   * Resolves once the endpoint's connection is up, or has failed (the call then reports why);
   * rejects when it is still connecting at `deadline` (ms since the epoch).
   */
  settled(endpoint: string, deadline: number): Promise<void>;
  readonly connectTimeoutMs: number;
}

export function classify(err: unknown, endpoint: string, alsoRetryElsewhere: ReadonlySet<ApiErrorCode> = NOTHING_MORE): Outcome {
  const failure = asCallFailure(err);
  if (failure === null) return { kind: 'final', error: err };
  const code = errorCodeOf(failure.metadata);
  const details = failure.details === '' ? `${statusName(failure.code)} from ${endpoint}` : failure.details;
  if (code === null) {
    // An HTTP status instead of gRPC (whatever code grpc-js mapped it to): no controller there, try the next.
    const httpStatus = describeHttpStatus(endpoint, details);
    if (httpStatus !== null) return { kind: 'unreachable', reason: `${statusName(failure.code)}: ${details}`, notGrpc: httpStatus };
    if (failure.code === grpc.status.UNAVAILABLE || failure.code === grpc.status.DEADLINE_EXCEEDED) {
      const tls = failure.code === grpc.status.UNAVAILABLE ? describeTlsFailure(details) : null;
      const notGrpc = failure.code === grpc.status.UNAVAILABLE && tls === null ? describeNotGrpc(endpoint, details) : null;
      return {
        kind: 'unreachable',
        reason: tls ?? `${statusName(failure.code)}: ${details}`,
        ...(tls === null ? {} : { tls }),
        ...(notGrpc === null ? {} : { notGrpc }),
      };
    }
    // Too large for gRPC is bad input (exit 2), and the same on every endpoint.
    const oversized = failure.code === grpc.status.RESOURCE_EXHAUSTED ? describeOversizedMessage(details) : null;
    if (oversized !== null) return { kind: 'final', error: new ApiError('INVALID_ARGUMENT', oversized, failure.code, { cause: err }) };
    return { kind: 'final', error: new ApiError(fallbackCode(failure.code), details, failure.code, { cause: err }) };
  }
  const error = new ApiError(code, details, failure.code, { cause: err });
  return RETRY_ELSEWHERE.has(code) || alsoRetryElsewhere.has(code) ? { kind: 'retryable', error } : { kind: 'final', error };
}

/** The endpoints of one client and which of them answered last. */
export class Failover {
  readonly endpoints: readonly string[];
  /** Index of the endpoint that answered last. */
  private preferred = 0;

  constructor(
    endpoints: readonly string[],
    private readonly connections?: Connections,
  ) {
    if (endpoints.length === 0) throw new ApiError('INVALID_ARGUMENT', 'expected at least one endpoint, found none');
    this.endpoints = [...endpoints];
  }

  /**
   * Runs `attempt` on each endpoint in turn until one gives a final answer. `alsoRetryElsewhere`:
   * error codes that speak only for the answering node for this call (a watch's COMPACTED).
   */
  async run<T>(attempt: (endpoint: string) => Promise<T>, alsoRetryElsewhere: ReadonlySet<ApiErrorCode> = NOTHING_MORE): Promise<T> {
    const count = this.endpoints.length;
    const conns = this.connections;
    const connectBy = Date.now() + (conns?.connectTimeoutMs ?? 0);
    /** When the endpoints after the preferred one were opened; null: not yet. */
    let othersOpenedAt: number | null = null;
    const openOthers = (): number => {
      if (othersOpenedAt === null) {
        othersOpenedAt = Date.now();
        for (const endpoint of this.endpoints) conns?.warm(endpoint);
      }
      return othersOpenedAt;
    };
    let headStart: NodeJS.Timeout | null = null;
    if (conns !== undefined) {
      conns.warm(this.endpoints[this.preferred % count] ?? '');
      // No answer within the head start (down, slow to connect, or connected and silent): open the
      // others now, so that they have connected, or shown they cannot, by the time the preferred
      // one gives up. Cleared when the call ends: a one-shot ctl must not wait on it to exit.
      if (count > 1) {
        headStart = setTimeout(openOthers, conns.connectTimeoutMs * HEAD_START_SHARE);
        headStart.unref();
      }
    }
    try {
      return await this.tryEach(attempt, alsoRetryElsewhere, connectBy, openOthers);
    } finally {
      if (headStart !== null) clearTimeout(headStart);
    }
  }

  private async tryEach<T>(
    attempt: (endpoint: string) => Promise<T>,
    alsoRetryElsewhere: ReadonlySet<ApiErrorCode>,
    connectBy: number,
    openOthers: () => number,
  ): Promise<T> {
    const count = this.endpoints.length;
    const conns = this.connections;
    const tried: string[] = [];
    /** Endpoints with no connection up within the connect timeout (silent, not refused). */
    const silent: string[] = [];
    /** Endpoints that answered in something other than gRPC. */
    const notGrpc: string[] = [];
    let answered: ApiError | null = null;
    /** Why the first endpoint that failed for a known cause failed (TLS, not gRPC). */
    let cause: string | null = null;
    for (let i = 0; i < count; i++) {
      const index = (this.preferred + i) % count;
      const endpoint = this.endpoints[index] ?? '';
      if (conns !== undefined) {
        // Each endpoint after the first has the connect timeout from when it was opened.
        const deadline = i === 0 ? connectBy : Math.max(connectBy, openOthers() + conns.connectTimeoutMs);
        try {
          await conns.settled(endpoint, deadline);
        } catch {
          tried.push(`${endpoint} (no connection within ${conns.connectTimeoutMs}ms)`);
          silent.push(endpoint);
          continue;
        }
      }
      try {
        const result = await attempt(endpoint);
        this.preferred = index;
        return result;
      } catch (err) {
        const outcome = classify(err, endpoint, alsoRetryElsewhere);
        switch (outcome.kind) {
          case 'final':
            this.preferred = index;
            throw outcome.error;
          case 'retryable':
            answered = outcome.error;
            tried.push(`${endpoint} (${outcome.error.code})`);
            break;
          case 'unreachable':
            cause ??= outcome.tls ?? outcome.notGrpc ?? null;
            if (outcome.notGrpc !== undefined) notGrpc.push(endpoint);
            tried.push(`${endpoint} (${outcome.tls !== undefined ? 'TLS handshake failed' : outcome.notGrpc !== undefined ? 'not gRPC' : outcome.reason})`);
            break;
          default: {
            const unreachable: never = outcome;
            throw unreachable;
          }
        }
      }
    }
    // The answer that said most, naming what the other endpoints did (a timeout there matters).
    if (answered !== null) throw tried.length > 1 ? new ApiError(answered.code, `${answered.message}; tried ${tried.join(', ')}`, answered.grpcCode, { cause: answered }) : answered;
    if (cause !== null) throw new UnreachableError(`${cause}; tried ${tried.join(', ')}`, silent, notGrpc);
    throw new UnreachableError(`no endpoint answered; tried ${tried.join(', ')}`, silent, notGrpc);
  }
}

/** Runs `attempt` on exactly this endpoint: its failure becomes an ApiError, never a retry. */
export async function onEndpoint<T>(endpoint: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    const outcome = classify(err, endpoint);
    switch (outcome.kind) {
      case 'final':
        throw outcome.error;
      case 'retryable':
        throw outcome.error;
      case 'unreachable': {
        const message = outcome.tls !== undefined ? `${outcome.tls} (${endpoint})` : (outcome.notGrpc ?? `${endpoint} did not answer (${outcome.reason})`);
        throw new ApiError('UNREACHABLE', message, undefined, { cause: err });
      }
      default: {
        const unreachable: never = outcome;
        throw unreachable;
      }
    }
  }
}
