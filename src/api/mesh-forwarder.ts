/**
 * Controller to controller on the Mesh service: a write only the leader can serve (Apply,
 * DeleteResource, ReportAgents) forwarded once, and the live rows of another controller's
 * agents for `list agents`. One channel per peer address, reused; it pings while a call is open,
 * so a connection gone silent toward the leader fails its forwards (forward-keepalive.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { forwardChannelOptions, type ForwardKeepalive } from './forward-keepalive.js';
import { givenUp } from './leader-forwarder.js';
import { meshUnary, type MeshMethod } from './mesh-proto.js';
import type { ForwardToLeader } from './on-leader.js';
import { fromServiceError, ServiceFailure } from './service-error.js';
import { ChannelCache } from '../transport/channel-cache.js';

export class MeshForwarder implements ForwardToLeader {
  private readonly channels: ChannelCache<grpc.Client>;

  /** `keepalive`: forwardKeepalive(the election timeout); its pings go out only while a call is open. */
  constructor(credentials: grpc.ChannelCredentials, keepalive: ForwardKeepalive) {
    const options = forwardChannelOptions(keepalive);
    this.channels = new ChannelCache(credentials, (address, observed) => new grpc.Client(address, observed, options));
  }

  /** `signal`: the forward is given up (on-leader.ts); the call is cancelled and rejects with its reason. */
  call<T>(address: string, method: string, request: object, deadline: number, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(givenUp(signal));
    return meshUnary(this.channel(address), method as MeshMethod, { ...request, forwarded: true }, deadline, signal).then(
      (res) => res as T,
      (err: unknown) => {
        if (signal?.aborted === true) throw givenUp(signal);
        // The leader's own answer passes through; a broken connection becomes "retry".
        const details = err instanceof Error ? ((err as { details?: string }).details ?? err.message) : String(err);
        throw fromServiceError(err) ?? new ServiceFailure('NO_LEADER', `leader at ${address} unreachable: ${details}`);
      },
    );
  }

  /** Asks the controller at `address` for the live rows of its own agents. */
  listLocal(address: string, deadline: number): Promise<unknown> {
    return meshUnary(this.channel(address), 'ListAgents', { localOnly: true }, deadline);
  }

  close(): void {
    this.channels.close();
  }

  private channel(address: string): grpc.Client {
    return this.channels.get(address);
  }
}
