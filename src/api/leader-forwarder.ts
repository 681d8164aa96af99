/**
 * Forwards a request that only the leader can serve. One client per leader address, reused:
 * a leader change costs one new channel, not one per request. Puts and deletes travel on a
 * KvSession to the leader, as a client's would (a unary call per forwarded write would cost
 * the follower and the leader more than the write itself); the rest are unary calls. The
 * channel pings the leader while a forward is open, and a session ends when idle, so that a
 * connection gone silent fails its forwards as a link reset (forward-keepalive.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { controllerMethod, controllerServiceDefinition } from './controller-proto.js';
import { forwardChannelOptions, type ForwardKeepalive } from './forward-keepalive.js';
import { KvSessionClient, sessionOp, viaSession, type KvFields } from './kv-session.js';
import { fromServiceError, ServiceFailure } from './service-error.js';
import { ChannelCache } from '../transport/channel-cache.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from './wire-types.js';

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;

const SESSION_OPS: Readonly<Record<string, KvSessionRequestMsg['op']>> = { put: 'KV_OP_PUT', delete: 'KV_OP_DELETE' };

export class LeaderForwarder {
  private readonly clients: ChannelCache<grpc.Client>;
  private readonly sessions = new Map<string, KvSessionClient>();

  /** `keepalive`: forwardKeepalive(the election timeout). */
  constructor(
    credentials: grpc.ChannelCredentials,
    private readonly keepalive: ForwardKeepalive,
  ) {
    const ctor = controllerServiceDefinition();
    const options = forwardChannelOptions(keepalive);
    // A session rides on its client: a client given up takes its session along.
    this.clients = new ChannelCache<grpc.Client>(
      credentials,
      (address, observed) => new ctor(address, observed, options),
      (address) => {
        this.sessions.get(address)?.close();
        this.sessions.delete(address);
      },
    );
  }

  call<T>(address: string, method: string, request: object, deadline: number, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(givenUp(signal));
    const op = SESSION_OPS[method];
    const answer = op === undefined ? this.unary(address, method, request, deadline, signal) : this.onSession(address, method, op, request as KvFields, deadline, signal);
    return answer.then(
      (res) => res as T,
      (err: unknown) => {
        // The leader's own answer passes through; a broken connection becomes "retry".
        const details = err instanceof Error ? ((err as { details?: string }).details ?? err.message) : String(err);
        throw fromServiceError(err) ?? (err instanceof ServiceFailure ? err : new ServiceFailure('NO_LEADER', `leader at ${address} unreachable: ${details}`));
      },
    );
  }

  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    this.clients.close();
  }

  private client(address: string): grpc.Client {
    return this.clients.get(address);
  }

  private unary(address: string, method: string, request: object, deadline: number, signal?: AbortSignal): Promise<unknown> {
    const client = this.client(address);
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (typeof fn !== 'function') return Promise.reject(new ServiceFailure('INTERNAL', `no method ${method}`));
    return new Promise((resolve, reject) => {
      const call = fn.call(client, { ...request, forwarded: true }, new grpc.Metadata(), { deadline }, (err, res) => {
        signal?.removeEventListener('abort', cancel);
        if (err) reject(err);
        else resolve(res);
      });
      // Given up (on-leader.ts): the call is cancelled, and fails with the reason it was given up for.
      function cancel(): void {
        reject(givenUp(signal));
        call.cancel();
      }
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  private async onSession(address: string, method: string, op: KvSessionRequestMsg['op'], req: KvFields, deadline: number, signal?: AbortSignal): Promise<{ revision: number }> {
    let session = this.sessions.get(address);
    if (session === undefined) {
      const def = controllerMethod('KvSession') as unknown as grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>;
      session = new KvSessionClient(this.client(address), def, address, { endWhenIdleMs: this.keepalive.sessionIdleMs });
      this.sessions.set(address, session);
    }
    const unary = async (): Promise<{ revision: number }> => (await this.unary(address, method, req, deadline, signal)) as { revision: number };
    const res = await viaSession(session, sessionOp(op, req, true), Math.max(1, deadline - Date.now()), unary);
    return { revision: res.revision };
  }
}

/** Why a forward was given up: the reason its signal carries, or a plain NO_LEADER. */
export function givenUp(signal: AbortSignal | undefined): ServiceFailure {
  const reason: unknown = signal?.reason;
  return reason instanceof ServiceFailure ? reason : new ServiceFailure('NO_LEADER', 'the forward was given up');
}
