/**
 * A typed client for the controller.api.Controller service with endpoint failover
 * (failover.ts). Writes carry a client ref (a random id per client and a sequence number per
 * write); every attempt of one write re-sends the same ref, so the server's dedup applies it
 * once even when an attempt timed out after the write had already committed. Puts, gets and
 * deletes travel on one KvSession per endpoint (kv-session.ts); answers are decoded as the
 * untrusted input they are (answers.ts).
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  decodeConfig,
  decodeConfigSet,
  decodeControllersView,
  decodeKv,
  decodeLeaderTransfer,
  decodeMembers,
  decodeRevision,
  decodeStatus,
  type AuditEventJson,
  type ConfigJson,
  type ConfigSetJson,
  type KvEntry,
  type MembersJson,
  type StatusJson,
} from './answers.js';
import { channelSettled } from './channel-settled.js';
import { ClientLanes, WriteAttempts } from './client-lanes.js';
import { retryWhileLeaderFull } from './write-backoff.js';
import { streamAudit, type AuditOptions } from './audit-stream.js';
import type { StreamContext } from './stream-context.js';
import type { ControllersView } from './controller-rows.js';
import { CLIENT_CHANNEL_OPTIONS, controllerMethod, type ControllerMethod } from './controller-proto.js';
import { ApiError, type ApiErrorCode } from './errors.js';
import { Failover, onEndpoint } from './failover.js';
import { checkKey, checkValueSize } from './request-size.js';
import { KvSessionClient, sessionOp, viaSession, type KvSessionOp } from './kv-session.js';
import { identityOf, type ClusterIdentity } from './cluster-identity.js';
import type { OneClusterCheck } from './one-cluster.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from './wire-types.js';

export interface ControllerClientOptions {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  /** Default: insecure. */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * How long an endpoint may take to accept a connection before it is skipped (the others are
   * opened once the first fails or has not answered within half of it, failover.ts); default min(2.5 s, half the timeout): a loaded machine may take a second or two to accept.
   */
  readonly connectTimeoutMs?: number;
  /**
   * Checks that the endpoints are one cluster's before a write or a read of the state
   * (one-cluster.ts), and hears each answer's identity; absent: no check.
   */
  readonly oneCluster?: OneClusterCheck;
  /**
   * HTTP/2 keepalive pings while a call is open (grpc-js pings only then), so a call that lasts
   * (a watch, an audit follow) learns that its controller froze or was cut off by a partition that
   * drops packets: an unanswered ping closes the connection and the call fails as a lost stream.
   * Absent: no pings, and such a call waited for ever, printing nothing (attack-operator round 16).
   */
  readonly keepalive?: { readonly pingEveryMs: number; readonly pingTimeoutMs: number };
}

/** What ctl's calls that last use: a frozen controller noticed within 10 s. The servers permit a ping every 500 ms. */
export const STREAM_KEEPALIVE = { pingEveryMs: 5_000, pingTimeoutMs: 5_000 } as const;

function toBuffer(value: Uint8Array | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** How long a connection has to come up: half the request timeout, at most 2.5 s. */
export function defaultConnectTimeoutMs(timeoutMs: number): number {
  return Math.min(2500, timeoutMs / 2);
}

export class ControllerClient {
  private readonly failover: Failover;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly channels = new Map<string, grpc.Client>();
  private readonly sessions = new Map<string, KvSessionClient>();
  private readonly streams = new Set<grpc.ClientReadableStream<unknown>>();
  private readonly clientId = randomUUID();
  /** Each write's exactly-once id and seq (client-lanes.ts). */
  private readonly lanes = new ClientLanes(this.clientId);
  private closed = false;
  private readonly oneCluster: OneClusterCheck | undefined;
  private readonly channelOptions: grpc.ChannelOptions;

  constructor(opts: ControllerClientOptions) {
    this.oneCluster = opts.oneCluster;
    this.channelOptions =
      opts.keepalive === undefined
        ? CLIENT_CHANNEL_OPTIONS
        : {
            ...CLIENT_CHANNEL_OPTIONS,
            'grpc.keepalive_time_ms': opts.keepalive.pingEveryMs,
            'grpc.keepalive_timeout_ms': opts.keepalive.pingTimeoutMs,
            'grpc.keepalive_permit_without_calls': 0,
          };
    if (!(opts.timeoutMs > 0)) throw new ApiError('INVALID_ARGUMENT', `expected a positive timeout, found ${opts.timeoutMs}ms`);
    this.credentials = opts.credentials ?? grpc.credentials.createInsecure();
    const connectTimeoutMs = opts.connectTimeoutMs ?? defaultConnectTimeoutMs(opts.timeoutMs);
    this.connectTimeoutMs = connectTimeoutMs;
    this.failover = new Failover(opts.endpoints, {
      connectTimeoutMs,
      warm: (endpoint) => {
        if (!this.closed) this.channel(endpoint).getChannel().getConnectivityState(true);
      },
      settled: (endpoint, deadline) => this.settled(endpoint, deadline),
    });
    this.timeoutMs = opts.timeoutMs;

  }

  /** The id this client's writes carry (for tests and logs); writes made while others are in flight carry `ID/N`. */
  get id(): string {
    return this.clientId;
  }

  async put(key: string, value: Uint8Array | string, opts: { readonly ifRevision?: number } = {}): Promise<{ revision: number }> {
    checkKey(key);
    const bytes = toBuffer(value);
    checkValueSize(bytes.byteLength);
    await this.sameCluster(`the put of ${JSON.stringify(key)}`);
    const lane = this.lanes.take();
    try {
      const attempts = new WriteAttempts(lane.ref);
      const answer = await this.writeAttempts(attempts, (endpoint) =>
        attempts.send((client) => {
          const request = {
            key,
            value: bytes,
            hasIfRevision: opts.ifRevision !== undefined,
            ifRevision: opts.ifRevision ?? 0,
            client,
            forwarded: false,
          };
          return this.kv(endpoint, 'Put', request, sessionOp('KV_OP_PUT', request, false));
        }),
      );
      return decodeRevision(answer, 'PutResponse');
    } finally {
      lane.release();
    }
  }

  async get(key: string, opts: { readonly serializable?: boolean } = {}): Promise<KvEntry> {
    checkKey(key);
    await this.sameCluster(`the read of ${JSON.stringify(key)}`);
    const request = { key, serializable: opts.serializable ?? false };
    const op = sessionOp('KV_OP_GET', request, false);
    return decodeKv(await this.failover.run((endpoint) => this.kv(endpoint, 'Get', request, op)));
  }

  async delete(key: string, opts: { readonly ifRevision?: number } = {}): Promise<{ revision: number }> {
    checkKey(key);
    await this.sameCluster(`the delete of ${JSON.stringify(key)}`);
    const lane = this.lanes.take();
    try {
      const attempts = new WriteAttempts(lane.ref);
      const answer = await this.writeAttempts(attempts, (endpoint) =>
        attempts.send((client) => {
          const request = {
            key,
            client,
            forwarded: false,
            hasIfRevision: opts.ifRevision !== undefined,
            ifRevision: opts.ifRevision ?? 0,
          };
          return this.kv(endpoint, 'Delete', request, sessionOp('KV_OP_DELETE', request, false));
        }),
      );
      return decodeRevision(answer, 'DeleteResponse');
    } finally {
      lane.release();
    }
  }

  /**
   * The first answer, unless it is stale (its node heard from no quorum) and another endpoint
   * has a current one: an operator should see the majority's view when it can. The others are
   * asked at once, in parallel, each within the connect timeout and the request timeout.
   */
  async listControllers(): Promise<ControllersView> {
    const first = decodeControllersView(await this.failover.run((endpoint) => this.unary(endpoint, 'ListControllers', {})));
    if (!first.stale) return first;
    const others = await Promise.all(
      this.failover.endpoints.map((endpoint) => this.listControllersOn(endpoint).catch(() => null)),
    );
    return others.find((v) => v !== null && !v.stale) ?? first;
  }

  /** Asks exactly this endpoint (no failover): what does this node believe? */
  async listControllersOn(endpoint: string): Promise<ControllersView> {
    return decodeControllersView(await this.onEndpoint(endpoint, () => this.unary(endpoint, 'ListControllers', {})));
  }

  async status(): Promise<StatusJson> {
    return decodeStatus(await this.failover.run((endpoint) => this.unary(endpoint, 'Status', {})));
  }

  /** Asks exactly this endpoint (no failover). */
  async statusOn(endpoint: string): Promise<StatusJson> {
    return decodeStatus(await this.onEndpoint(endpoint, () => this.unary(endpoint, 'Status', {})));
  }

  async memberAdd(id: string, address: string, learner: boolean): Promise<MembersJson> {
    await this.sameCluster(`the addition of member ${id}`);
    const request = { id, address, learner, forwarded: false };
    return decodeMembers(await this.failover.run((endpoint) => this.unary(endpoint, 'MemberAdd', request)));
  }

  async memberPromote(id: string): Promise<MembersJson> {
    await this.sameCluster(`the promotion of member ${id}`);
    const request = { id, forwarded: false };
    return decodeMembers(await this.failover.run((endpoint) => this.unary(endpoint, 'MemberPromote', request)));
  }

  async memberRemove(id: string): Promise<MembersJson> {
    await this.sameCluster(`the removal of member ${id}`);
    const request = { id, forwarded: false };
    return decodeMembers(await this.failover.run((endpoint) => this.unary(endpoint, 'MemberRemove', request)));
  }

  /** target: a voter's id, or undefined for the most up-to-date voter. Resolves with the new leader; `unchanged`: it led already. */
  async leaderTransfer(target?: string): Promise<{ leader: string; unchanged: boolean }> {
    await this.sameCluster('the leader transfer');
    const request = { target: target ?? '', forwarded: false };
    return decodeLeaderTransfer(await this.failover.run((endpoint) => this.unary(endpoint, 'LeaderTransfer', request)));
  }

  /** The cluster-wide settings, or one of them (key); linearizable. */
  async configGet(key?: string): Promise<ConfigJson> {
    return decodeConfig(await this.failover.run((endpoint) => this.unary(endpoint, 'ConfigGet', { key: key ?? '' })));
  }

  /** Changes one cluster-wide setting through the leader; `changed` is false when it already had the value. */
  async configSet(key: string, value: string): Promise<ConfigSetJson> {
    await this.sameCluster(`the change of ${key}`);
    const request = { key, value, forwarded: false };
    return decodeConfigSet(await this.failover.run((endpoint) => this.unary(endpoint, 'ConfigSet', request)));
  }

  /**
   * Streams audit events to onEvent. Without follow it resolves when the server has sent what it
   * retains; with follow it runs until opts.signal aborts or the stream fails. Failover happens
   * only before the first event: after that a retry could deliver events twice.
   */
  async audit(opts: AuditOptions, onEvent: (e: AuditEventJson) => void): Promise<void> {
    await this.failover.run((endpoint) => streamAudit(this.streamContext(endpoint), opts, onEvent));
  }

  /** A unary call of `method` (of any service on the endpoints) on the first endpoint that answers. */
  call(method: grpc.MethodDefinition<unknown, unknown>, request: object): Promise<unknown> {
    return this.failover.run((endpoint) => this.unaryOf(endpoint, method, request));
  }

  /** A unary call on exactly this endpoint (no failover). */
  callOn(endpoint: string, method: grpc.MethodDefinition<unknown, unknown>, request: object): Promise<unknown> {
    return onEndpoint(endpoint, () => this.unaryOf(endpoint, method, request));
  }

  /** A unary call on exactly this endpoint, its gRPC failure left as it is: for an attempt of onFirstAnswering to make. */
  unaryOn(endpoint: string, method: grpc.MethodDefinition<unknown, unknown>, request: object): Promise<unknown> {
    return this.unaryOf(endpoint, method, request);
  }

  /** Runs `attempt` on each endpoint in turn until one gives a final answer (failover.ts). */
  onFirstAnswering<T>(attempt: (endpoint: string) => Promise<T>, alsoRetryElsewhere?: ReadonlySet<ApiErrorCode>): Promise<T> {
    return this.failover.run(attempt, alsoRetryElsewhere);
  }

  /** What a server stream on `endpoint` needs: its channel, and registration so close() ends it. */
  streamContext(endpoint: string): StreamContext {
    return { endpoint, channel: this.channel(endpoint), timeoutMs: this.timeoutMs, streams: this.streams, closed: () => this.closed };
  }

  get endpoints(): readonly string[] {
    return this.failover.endpoints;
  }

  /**
   * Refuses (MixedClustersError) when the endpoints answer for different clusters
   * (one-cluster.ts); `request` names what would have been sent. Without a check, resolves.
   */
  async sameCluster(request: string): Promise<void> {
    await this.oneCluster?.check(request);
  }

  /**
   * The cluster `endpoint` answers for, from its Status answer: the identity its metadata
   * carries, else the fields of the answer (a controller that predates the metadata); null when
   * it has none yet. No failover.
   */
  async identityOn(endpoint: string): Promise<ClusterIdentity | null> {
    let stamped: ClusterIdentity | null = null;
    const answer = await this.onEndpoint(endpoint, () =>
      this.unaryOf(endpoint, controllerMethod('Status'), {}, (metadata) => {
        stamped = identityOf(metadata);
      }),
    );
    if (stamped !== null) return stamped;
    const status = decodeStatus(answer);
    return status.cluster === '' ? null : { name: status.cluster, id: status.clusterId === '' ? null : status.clusterId };
  }

  /** Closes every channel and ends open streams. */
  close(): void {
    this.closed = true;
    for (const stream of this.streams) stream.cancel();
    this.streams.clear();
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  /** onEndpoint behind the connect timeout: a hung endpoint is UNREACHABLE after it, not after the request timeout. */
  private async onEndpoint<T>(endpoint: string, attempt: () => Promise<T>): Promise<T> {
    try {
      await this.settled(endpoint, Date.now() + this.connectTimeoutMs);
    } catch {
      throw new ApiError('UNREACHABLE', `${endpoint} did not accept a connection within ${this.connectTimeoutMs}ms`);
    }
    return onEndpoint(endpoint, attempt);
  }

  /** Resolves when the endpoint's channel is READY or has failed; rejects if still connecting at `deadline`. */
  private async settled(endpoint: string, deadline: number): Promise<void> {
    if (!(await channelSettled(this.channel(endpoint).getChannel(), deadline))) throw new ApiError('UNREACHABLE', `${endpoint}: no connection before the connect timeout`);
  }

  private channel(endpoint: string): grpc.Client {
    if (this.closed) throw new ApiError('INTERNAL', `expected an open client, found it closed (endpoint ${endpoint})`);
    let channel = this.channels.get(endpoint);
    if (channel === undefined) {
      channel = new grpc.Client(endpoint, this.credentials, this.channelOptions);
      this.channels.set(endpoint, channel);
    }
    return channel;
  }

  /** A Put, Get or Delete: on the endpoint's KvSession, or as a unary call (viaSession). */
  /**
   * One write through the endpoints, tried again while the leader refuses it for its bound on
   * bytes waiting to commit. Whether the next try is marked a retry is `attempts.send`'s call:
   * such a refusal says `not-proposed` unless an earlier attempt of the write, forwarded or run on
   * the leader, may have been proposed (on-leader.ts).
   */
  private async writeAttempts(attempts: WriteAttempts, attempt: (endpoint: string) => Promise<unknown>): Promise<unknown> {
    return attempts.settle(() => retryWhileLeaderFull(this.timeoutMs, () => this.failover.run(attempt)));
  }

  private kv(endpoint: string, method: 'Put' | 'Get' | 'Delete', request: object, op: KvSessionOp): Promise<unknown> {
    return viaSession(this.session(endpoint), op, this.timeoutMs, () => this.unary(endpoint, method, request));
  }

  private session(endpoint: string): KvSessionClient {
    let session = this.sessions.get(endpoint);
    if (session === undefined) {
      const method = controllerMethod('KvSession') as unknown as grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>;
      session = new KvSessionClient(this.channel(endpoint), method, endpoint);
      this.sessions.set(endpoint, session);
    }
    return session;
  }

  private unary(endpoint: string, method: ControllerMethod, request: object): Promise<unknown> {
    return this.unaryOf(endpoint, controllerMethod(method), request);
  }

  /** `onMetadata` hears the answer's headers (or its trailers when it failed without any). */
  private unaryOf(endpoint: string, def: grpc.MethodDefinition<unknown, unknown>, request: object, onMetadata?: (metadata: grpc.Metadata) => void): Promise<unknown> {
    const channel = this.channel(endpoint);
    const heard = (metadata: grpc.Metadata): void => {
      this.oneCluster?.record(endpoint, identityOf(metadata));
      onMetadata?.(metadata);
    };
    return new Promise((resolve, reject) => {
      const call = channel.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, value) => {
          if (err) {
            if (err.metadata instanceof grpc.Metadata) heard(err.metadata);
            reject(err);
          } else {
            resolve(value);
          }
        },
      );
      call.on('metadata', heard);
    });
  }
}
