/**
 * The client side of KvSession: one stream per endpoint carries every Put, Get and Delete of
 * one ControllerClient, each request tagged with an id its answer echoes.
 *
 * Failures look exactly like those of the unary calls, so ControllerClient's failover treats
 * both alike: a server's refusal carries its `error-code`; a broken stream fails every request
 * on it as UNAVAILABLE and a missing answer as DEADLINE_EXCEEDED, both without a code, which
 * means "this endpoint did not answer" (a write is then retried elsewhere with the same client
 * ref, and applied once). A server that predates KvSession answers UNIMPLEMENTED: the session
 * then reports itself unsupported and the client goes back to unary calls for that endpoint.
 */
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_METADATA_KEY, GRPC_STATUS_FOR, NOT_PROPOSED_METADATA_KEY, errorCodeOf, isApiErrorCode, tidyDetails } from './errors.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from './wire-types.js';

export type KvSessionOp = Omit<KvSessionRequestMsg, 'id' | 'timeoutMs'>;

/** The fields a put, get or delete may carry; what it leaves out takes its proto default. */
export interface KvFields {
  readonly key: string;
  readonly value?: Uint8Array;
  readonly hasIfRevision?: boolean;
  readonly ifRevision?: number;
  readonly serializable?: boolean;
  readonly client?: { readonly id: string; readonly seq: number; readonly retry?: boolean; readonly owner?: string } | null;
}

/** One session request from the same fields a unary request has. */
export function sessionOp(op: KvSessionRequestMsg['op'], f: KvFields, forwarded: boolean): KvSessionOp {
  return {
    op,
    key: f.key,
    value: f.value ?? new Uint8Array(0),
    hasIfRevision: f.hasIfRevision ?? false,
    ifRevision: f.ifRevision ?? 0,
    serializable: f.serializable ?? false,
    clientId: f.client?.id ?? '',
    clientSeq: f.client?.seq ?? 0,
    clientRetry: f.client?.retry ?? false,
    // Only a forward carries one (caller-owner.ts); a client's session leaves it out.
    ...(f.client?.owner === undefined ? {} : { clientOwner: f.client.owner }),
    forwarded,
  };
}

/** Larger values go in unary calls: one oversized message must not break a session that
 * other requests share (the server refuses it by failing the whole stream). */
export const MAX_SESSION_VALUE_BYTES = 64 * 1024;

/** Shaped like grpc-js's ServiceError, which is what ControllerClient's failover inspects. */
export class KvSessionError extends Error {
  override readonly name = 'KvSessionError';
  constructor(
    readonly code: grpc.status,
    readonly details: string,
    readonly metadata: grpc.Metadata | undefined,
    /** The controller refused the session at its caps, before it took any request. */
    readonly refusedAtCap = false,
  ) {
    super(details);
  }
}

/**
 * A put, get or delete on `session`, or as the unary call `unary` when the value is too large
 * for a session or the endpoint has no KvSession. Both answers decode alike.
 */
export async function viaSession<T>(session: KvSessionClient, op: KvSessionOp, timeoutMs: number, unary: () => Promise<T>): Promise<KvSessionResponseMsg | T> {
  if (session.unsupported || session.capped() || op.value.byteLength > MAX_SESSION_VALUE_BYTES) return unary();
  try {
    return await session.request(op, timeoutMs);
  } catch (err) {
    // Refused before it took any request: nothing was applied, and a unary call serves it.
    if (err instanceof KvSessionError && (err.code === grpc.status.UNIMPLEMENTED || err.refusedAtCap)) return unary();
    throw err;
  }
}

/**
 * How long requests go as unary calls after a controller refused a session at its caps
 * (src/api/kv-session-limits.ts: 256 per client certificate, 10,000 per controller) before a
 * session is tried again. The caps bound what idle sessions hold; they must not refuse the
 * writes of the 257th process sharing a certificate, which unary calls carry as well.
 */
export const SESSION_CAPPED_RETRY_MS = 30_000;

interface Pending {
  readonly resolve: (res: KvSessionResponseMsg) => void;
  readonly reject: (err: KvSessionError) => void;
  readonly timer: NodeJS.Timeout;
}

function refusal(res: KvSessionResponseMsg): KvSessionError {
  const metadata = new grpc.Metadata();
  if (!isApiErrorCode(res.errorCode)) {
    return new KvSessionError(grpc.status.INTERNAL, `unknown error code ${JSON.stringify(res.errorCode)}: ${res.errorMessage}`, undefined);
  }
  metadata.set(ERROR_CODE_METADATA_KEY, res.errorCode);
  if (res.notProposed === true) metadata.set(NOT_PROPOSED_METADATA_KEY, 'true');
  return new KvSessionError(GRPC_STATUS_FOR[res.errorCode], res.errorMessage, metadata);
}

export interface KvSessionOptions {
  /**
   * End the stream once no request has waited on it for this long; the next request opens a
   * new one. LeaderForwarder's: its channel pings while a call is open, and an idle follower
   * must not ping its leader forever (forward-keepalive.ts). Absent: the stream stays open.
   */
  readonly endWhenIdleMs?: number;
}

export class KvSessionClient {
  private call: grpc.ClientDuplexStream<KvSessionRequestMsg, KvSessionResponseMsg> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The endpoint answered UNIMPLEMENTED: it has no KvSession. */
  unsupported = false;
  /** Until when (Date.now() ms) requests go as unary calls: the endpoint refused a session at its caps. */
  private cappedUntil = 0;

  constructor(
    private readonly channel: grpc.Client,
    private readonly method: grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>,
    private readonly endpoint: string,
    private readonly opts: KvSessionOptions = {},
  ) {}

  /** Whether the endpoint refused a session at its caps within SESSION_CAPPED_RETRY_MS. */
  capped(): boolean {
    return Date.now() < this.cappedUntil;
  }

  /** Resolves with the answer on success; rejects with a KvSessionError. */
  request(op: KvSessionOp, timeoutMs: number): Promise<KvSessionResponseMsg> {
    this.stopIdleTimer();
    const call = this.call ?? this.open();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.whenIdle();
        reject(new KvSessionError(grpc.status.DEADLINE_EXCEEDED, `no answer from ${this.endpoint} within ${timeoutMs}ms`, undefined));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      call.write({ ...op, id, timeoutMs });
    });
  }

  /** Ends the stream; requests still waiting fail as CANCELLED. */
  close(): void {
    this.stopIdleTimer();
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.failAll(grpc.status.CANCELLED, 'the client was closed');
  }

  /** No request waits: with `endWhenIdleMs`, the stream ends unless one comes before then. */
  private whenIdle(): void {
    const idleMs = this.opts.endWhenIdleMs;
    if (idleMs === undefined || this.pending.size > 0 || this.call === null || this.idleTimer !== null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const call = this.call;
      if (this.pending.size > 0 || call === null) return;
      // Cancelled, not half-closed: the call is gone at once, though the server may still be
      // working on a request this side gave up on (its answer would be dropped anyway).
      this.call = null;
      call.cancel();
    }, idleMs);
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer === null) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private open(): grpc.ClientDuplexStream<KvSessionRequestMsg, KvSessionResponseMsg> {
    const { path, requestSerialize, responseDeserialize } = this.method;
    const call = this.channel.makeBidiStreamRequest(path, requestSerialize, responseDeserialize);
    this.call = call;
    call.on('data', (res: KvSessionResponseMsg) => {
      const p = this.pending.get(res.id);
      if (p === undefined) return; // it timed out already
      this.pending.delete(res.id);
      clearTimeout(p.timer);
      this.whenIdle();
      if (res.errorCode === '') p.resolve(res);
      else p.reject(refusal(res));
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      this.call = null;
      if (err.code === grpc.status.UNIMPLEMENTED) {
        this.unsupported = true;
        this.failAll(grpc.status.UNIMPLEMENTED, `${this.endpoint} has no KvSession`);
        return;
      }
      // The caps' refusal (a RESOURCE_EXHAUSTED with its error code, at the session's start; a
      // stream cut for its unfinished bytes is a reset without one): unary calls until it passes.
      if (err.code === grpc.status.RESOURCE_EXHAUSTED && errorCodeOf(err.metadata) === 'RESOURCE_EXHAUSTED') {
        this.cappedUntil = Date.now() + SESSION_CAPPED_RETRY_MS;
        this.failAll(err.code, tidyDetails(err.details), true);
        return;
      }
      // A refusal is the endpoint's answer, the same on every endpoint: not a broken session to retry elsewhere.
      if (err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.UNAUTHENTICATED) {
        this.failAll(err.code, tidyDetails(err.details));
        return;
      }
      this.failAll(grpc.status.UNAVAILABLE, `session with ${this.endpoint} broke: ${grpc.status[err.code] ?? err.code}: ${tidyDetails(err.details)}`);
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.call = null;
      this.failAll(grpc.status.UNAVAILABLE, `${this.endpoint} ended the session`);
    });
    return call;
  }

  private failAll(code: grpc.status, details: string, refusedAtCap = false): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new KvSessionError(code, details, undefined, refusedAtCap));
    }
  }
}
