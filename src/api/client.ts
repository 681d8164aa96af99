/**
 * A typed client for the controller.api.Controller service with endpoint failover.
 *
 * Failover: a call tries the endpoints in order, starting from the last one that answered.
 * It moves on when the endpoint did not answer (UNAVAILABLE or DEADLINE_EXCEEDED without an
 * `error-code`) or answered that it cannot serve anyone right now (NO_LEADER, NOT_LEADER,
 * SHUTTING_DOWN: a node cut off in a minority says so while the majority still has a leader);
 * any other answer is final. Writes carry a client
 * ref (a random id per client and a sequence number per write); every attempt of one write
 * re-sends the same ref, so the server's dedup applies it once even when an attempt timed out
 * after the write had already committed.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { loadProto, lookupService } from '../transport/proto.js';
import { ApiError, errorCodeOf, tidyDetails, type ApiErrorCode } from './errors.js';
import { KvSessionClient, KvSessionError, MAX_SESSION_VALUE_BYTES, sessionOp, type KvSessionOp } from './kv-session.js';

export { MAX_SESSION_VALUE_BYTES } from './kv-session.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from './wire-types.js';

// ---- The JSON shapes of the contract, and decoding of the wire answers into them. ----

export type MemberState = 'online' | 'offline';

/** One member as the answering controller sees it; fields in the contract's order. */
export interface ControllerStatusJson {
  readonly id: string;
  readonly address: string;
  readonly online: boolean;
  readonly localState: MemberState;
  readonly clusterState: MemberState;
  readonly leader: boolean;
  readonly voter: boolean;
  readonly lastContactMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly rttP50Ms: number;
  readonly rttP99Ms: number;
  readonly appliedIndex: number;
  readonly lagEntries: number;
  readonly version: string;
}

/** The contract's field order of ControllerStatusJson (JSON output and table columns). */
export const CONTROLLER_FIELDS = [
  'id',
  'address',
  'online',
  'localState',
  'clusterState',
  'leader',
  'voter',
  'lastContactMs',
  'heartbeatTimeoutMs',
  'rttP50Ms',
  'rttP99Ms',
  'appliedIndex',
  'lagEntries',
  'version',
] as const satisfies readonly (keyof ControllerStatusJson)[];

export interface ControllersView {
  readonly controllers: readonly ControllerStatusJson[];
  /** The answering node cannot reach a quorum: its view may be out of date. */
  readonly stale: boolean;
  readonly staleReason: string;
  /** The id of the node that answered. */
  readonly answeredBy: string;
}

export interface StatusJson {
  readonly id: string;
  readonly cluster: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly version: string;
}

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

/** `ctl kv get -o json`: the value as UTF-8 text. */
export interface KvJson {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

export interface MembersJson {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

export interface AuditEventJson {
  readonly time: string;
  readonly node: string;
  readonly type: string;
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : typeof v;
}

/** Typed reads of one decoded message; a mismatch is a server bug, reported as INTERNAL. */
export class Fields {
  private readonly record: Readonly<Record<string, unknown>>;
  constructor(
    raw: unknown,
    private readonly what: string,
  ) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ApiError('INTERNAL', `expected a ${what} message from the server, found ${describe(raw)}`);
    }
    this.record = raw as Readonly<Record<string, unknown>>;
  }

  private bad(name: string, expected: string): ApiError {
    return new ApiError('INTERNAL', `expected ${this.what}.${name} to be ${expected}, found ${describe(this.record[name])}`);
  }

  str(name: string): string {
    const v = this.record[name];
    if (typeof v !== 'string') throw this.bad(name, 'a string');
    return v;
  }

  num(name: string): number {
    const v = this.record[name];
    if (typeof v !== 'number' || Number.isNaN(v)) throw this.bad(name, 'a number');
    return v;
  }

  bool(name: string): boolean {
    const v = this.record[name];
    if (typeof v !== 'boolean') throw this.bad(name, 'a boolean');
    return v;
  }

  bytes(name: string): Uint8Array {
    const v = this.record[name];
    if (!(v instanceof Uint8Array)) throw this.bad(name, 'bytes');
    return v;
  }

  strs(name: string): readonly string[] {
    const v = this.record[name];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw this.bad(name, 'a list of strings');
    return v as readonly string[];
  }

  list(name: string): readonly unknown[] {
    const v = this.record[name];
    if (!Array.isArray(v)) throw this.bad(name, 'a list');
    return v as readonly unknown[];
  }

  state(name: string): MemberState {
    const v = this.str(name);
    if (v !== 'online' && v !== 'offline') throw this.bad(name, 'online or offline');
    return v;
  }
}

export function decodeController(raw: unknown): ControllerStatusJson {
  const f = new Fields(raw, 'ControllerStatus');
  // Built key by key so JSON.stringify keeps the contract's order.
  return {
    id: f.str('id'),
    address: f.str('address'),
    online: f.bool('online'),
    localState: f.state('localState'),
    clusterState: f.state('clusterState'),
    leader: f.bool('leader'),
    voter: f.bool('voter'),
    lastContactMs: f.num('lastContactMs'),
    heartbeatTimeoutMs: f.num('heartbeatTimeoutMs'),
    rttP50Ms: f.num('rttP50Ms'),
    rttP99Ms: f.num('rttP99Ms'),
    appliedIndex: f.num('appliedIndex'),
    lagEntries: f.num('lagEntries'),
    version: f.str('version'),
  };
}

export function decodeControllersView(raw: unknown): ControllersView {
  const f = new Fields(raw, 'ListControllersResponse');
  return {
    controllers: f.list('controllers').map(decodeController),
    stale: f.bool('stale'),
    staleReason: f.str('staleReason'),
    answeredBy: f.str('answeredBy'),
  };
}

export function decodeStatus(raw: unknown): StatusJson {
  const f = new Fields(raw, 'StatusResponse');
  return {
    id: f.str('id'),
    cluster: f.str('cluster'),
    role: f.str('role'),
    term: f.num('term'),
    leader: f.str('leader'),
    commitIndex: f.num('commitIndex'),
    appliedIndex: f.num('appliedIndex'),
    lastIndex: f.num('lastIndex'),
    firstIndex: f.num('firstIndex'),
    snapshotIndex: f.num('snapshotIndex'),
    voters: f.strs('voters'),
    learners: f.strs('learners'),
    version: f.str('version'),
  };
}

export function decodeKv(raw: unknown): KvEntry {
  const f = new Fields(raw, 'GetResponse');
  return { key: f.str('key'), value: f.bytes('value'), revision: f.num('revision') };
}

export function decodeMembers(raw: unknown): MembersJson {
  const f = new Fields(raw, 'MemberResponse');
  return { voters: f.strs('voters'), learners: f.strs('learners') };
}

export function decodeAuditEvent(raw: unknown): AuditEventJson {
  const f = new Fields(raw, 'AuditEvent');
  return {
    time: f.str('time'),
    node: f.str('node'),
    type: f.str('type'),
    subject: f.str('subject'),
    from: f.str('from'),
    to: f.str('to'),
    reason: f.str('reason'),
  };
}

// ---- The client. ----

export type ControllerMethod =
  | 'Put'
  | 'Get'
  | 'Delete'
  | 'ListControllers'
  | 'Status'
  | 'MemberAdd'
  | 'MemberPromote'
  | 'MemberRemove'
  | 'LeaderTransfer'
  | 'Audit'
  | 'KvSession';

let service: grpc.ServiceClientConstructor | null = null;

/** controller.api.Controller as loaded from proto/controller.proto (parsed once per process). */
export function controllerService(): grpc.ServiceClientConstructor {
  service ??= lookupService(loadProto('controller.proto'), 'controller.api.Controller');
  return service;
}

/** channelz bookkeeping costs CPU on every call, and nothing reads it. */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.enable_channelz': 0 };

function methodDefinition(name: ControllerMethod): grpc.MethodDefinition<unknown, unknown> {
  const method = controllerService().service[name];
  if (method === undefined) throw new Error(`unreachable: controller.api.Controller has no method ${name}`);
  return method;
}

export interface ControllerClientOptions {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  /** Default: insecure. */
  readonly credentials?: grpc.ChannelCredentials;
}

export interface AuditOptions {
  /** Events at or after this unix time in ms; 0 = all retained. */
  readonly sinceMs: number;
  readonly follow: boolean;
  /** Ends the stream; audit() then resolves normally. */
  readonly signal?: AbortSignal;
}

interface ClientRef {
  readonly id: string;
  readonly seq: number;
}

/** The parts of a failed gRPC call that decide what to do next. */
interface CallFailure {
  readonly code: number;
  readonly details: string;
  readonly metadata: grpc.Metadata | undefined;
}

function asCallFailure(err: unknown): CallFailure | null {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'number') return null;
  const details = tidyDetails('details' in err && typeof err.details === 'string' ? err.details : err.message);
  const metadata = 'metadata' in err && err.metadata instanceof grpc.Metadata ? err.metadata : undefined;
  return { code: err.code, details, metadata };
}

/** Thrown by an attempt when the channel could not connect in time. */
class ConnectFailure extends Error {
  readonly code = grpc.status.UNAVAILABLE;
  readonly details: string;
  constructor(endpoint: string, timeoutMs: number) {
    super(`could not connect to ${endpoint} within ${timeoutMs}ms`);
    this.details = this.message;
  }
}

type Outcome =
  /** The endpoint did not answer: try the next one. */
  | { readonly kind: 'unreachable'; readonly reason: string }
  /** The endpoint answered but cannot serve now: try the next one, report this if none does better. */
  | { readonly kind: 'retryable'; readonly error: ApiError }
  | { readonly kind: 'final'; readonly error: unknown };

function statusName(code: number): string {
  return grpc.status[code] ?? `status ${code}`;
}

function fallbackCode(grpcCode: number): ApiErrorCode {
  if (grpcCode === grpc.status.NOT_FOUND) return 'NOT_FOUND';
  if (grpcCode === grpc.status.INVALID_ARGUMENT) return 'INVALID_ARGUMENT';
  return 'INTERNAL';
}

/** Answers that speak only for the node that gave them: another node may do better. */
const RETRY_ELSEWHERE: ReadonlySet<ApiErrorCode> = new Set(['NO_LEADER', 'NOT_LEADER', 'SHUTTING_DOWN']);

function classify(err: unknown, endpoint: string): Outcome {
  const failure = asCallFailure(err);
  if (failure === null) return { kind: 'final', error: err };
  const code = errorCodeOf(failure.metadata);
  const details = failure.details === '' ? `${statusName(failure.code)} from ${endpoint}` : failure.details;
  if (code === null) {
    if (failure.code === grpc.status.UNAVAILABLE || failure.code === grpc.status.DEADLINE_EXCEEDED) {
      return { kind: 'unreachable', reason: `${statusName(failure.code)}: ${details}` };
    }
    return { kind: 'final', error: new ApiError(fallbackCode(failure.code), details, failure.code, { cause: err }) };
  }
  const error = new ApiError(code, details, failure.code, { cause: err });
  return RETRY_ELSEWHERE.has(code) ? { kind: 'retryable', error } : { kind: 'final', error };
}

function toBuffer(value: Uint8Array | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export class ControllerClient {
  private readonly endpoints: readonly string[];
  private readonly timeoutMs: number;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly channels = new Map<string, grpc.Client>();
  private readonly sessions = new Map<string, KvSessionClient>();
  private readonly streams = new Set<grpc.ClientReadableStream<unknown>>();
  /** Index of the endpoint that answered last. */
  private preferred = 0;
  private readonly clientId = randomUUID();
  private seq = 0;
  private closed = false;

  constructor(opts: ControllerClientOptions) {
    if (opts.endpoints.length === 0) throw new ApiError('INVALID_ARGUMENT', 'expected at least one endpoint, found none');
    if (!(opts.timeoutMs > 0)) throw new ApiError('INVALID_ARGUMENT', `expected a positive timeout, found ${opts.timeoutMs}ms`);
    this.endpoints = [...opts.endpoints];
    this.timeoutMs = opts.timeoutMs;
    this.credentials = opts.credentials ?? grpc.credentials.createInsecure();
  }

  /** The id this client's writes carry (for tests and logs). */
  get id(): string {
    return this.clientId;
  }

  async put(key: string, value: Uint8Array | string, opts: { readonly ifRevision?: number } = {}): Promise<{ revision: number }> {
    const request = {
      key,
      value: toBuffer(value),
      hasIfRevision: opts.ifRevision !== undefined,
      ifRevision: opts.ifRevision ?? 0,
      client: this.nextRef(),
      forwarded: false,
    };
    const op = sessionOp('KV_OP_PUT', request, false);
    const res = await this.withFailover((endpoint) => this.kv(endpoint, 'Put', request, op));
    return { revision: new Fields(res, 'PutResponse').num('revision') };
  }

  async get(key: string, opts: { readonly serializable?: boolean } = {}): Promise<KvEntry> {
    const request = { key, serializable: opts.serializable ?? false };
    const op = sessionOp('KV_OP_GET', request, false);
    return decodeKv(await this.withFailover((endpoint) => this.kv(endpoint, 'Get', request, op)));
  }

  async delete(key: string, opts: { readonly ifRevision?: number } = {}): Promise<{ revision: number }> {
    const request = {
      key,
      client: this.nextRef(),
      forwarded: false,
      hasIfRevision: opts.ifRevision !== undefined,
      ifRevision: opts.ifRevision ?? 0,
    };
    const op = sessionOp('KV_OP_DELETE', request, false);
    const res = await this.withFailover((endpoint) => this.kv(endpoint, 'Delete', request, op));
    return { revision: new Fields(res, 'DeleteResponse').num('revision') };
  }

  /**
   * The first answer, unless it is stale (its node is cut off from the quorum) and another
   * endpoint has a current one: an operator should see the majority's view when it can.
   */
  async listControllers(): Promise<ControllersView> {
    const first = decodeControllersView(await this.withFailover((endpoint) => this.unary(endpoint, 'ListControllers', {})));
    if (!first.stale) return first;
    for (const endpoint of this.endpoints) {
      const other = await this.listControllersOn(endpoint).catch(() => null);
      if (other !== null && !other.stale) return other;
    }
    return first;
  }

  /** Asks exactly this endpoint (no failover): what does this node believe? */
  async listControllersOn(endpoint: string): Promise<ControllersView> {
    return decodeControllersView(await this.onEndpoint(endpoint, () => this.unary(endpoint, 'ListControllers', {})));
  }

  async status(): Promise<StatusJson> {
    return decodeStatus(await this.withFailover((endpoint) => this.unary(endpoint, 'Status', {})));
  }

  /** Asks exactly this endpoint (no failover). */
  async statusOn(endpoint: string): Promise<StatusJson> {
    return decodeStatus(await this.onEndpoint(endpoint, () => this.unary(endpoint, 'Status', {})));
  }

  async memberAdd(id: string, address: string, learner: boolean): Promise<MembersJson> {
    const request = { id, address, learner, forwarded: false };
    return decodeMembers(await this.withFailover((endpoint) => this.unary(endpoint, 'MemberAdd', request)));
  }

  async memberPromote(id: string): Promise<MembersJson> {
    const request = { id, forwarded: false };
    return decodeMembers(await this.withFailover((endpoint) => this.unary(endpoint, 'MemberPromote', request)));
  }

  async memberRemove(id: string): Promise<MembersJson> {
    const request = { id, forwarded: false };
    return decodeMembers(await this.withFailover((endpoint) => this.unary(endpoint, 'MemberRemove', request)));
  }

  /** target: a voter's id, or undefined for the most up-to-date voter. Resolves with the new leader. */
  async leaderTransfer(target?: string): Promise<{ leader: string }> {
    const request = { target: target ?? '', forwarded: false };
    const res = await this.withFailover((endpoint) => this.unary(endpoint, 'LeaderTransfer', request));
    return { leader: new Fields(res, 'LeaderTransferResponse').str('leader') };
  }

  /**
   * Streams audit events to onEvent. Without follow it resolves when the server has sent what it
   * retains; with follow it runs until opts.signal aborts or the stream fails. Failover happens
   * only before the first event: after that a retry could deliver events twice.
   */
  async audit(opts: AuditOptions, onEvent: (e: AuditEventJson) => void): Promise<void> {
    const request = { sinceMs: opts.sinceMs, follow: opts.follow };
    await this.withFailover((endpoint) => this.auditOn(endpoint, request, opts, onEvent));
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

  private nextRef(): ClientRef {
    this.seq += 1;
    return { id: this.clientId, seq: this.seq };
  }

  private channel(endpoint: string): grpc.Client {
    if (this.closed) throw new ApiError('INTERNAL', `expected an open client, found it closed (endpoint ${endpoint})`);
    let channel = this.channels.get(endpoint);
    if (channel === undefined) {
      channel = new grpc.Client(endpoint, this.credentials, CLIENT_CHANNEL_OPTIONS);
      this.channels.set(endpoint, channel);
    }
    return channel;
  }

  private async withFailover<T>(attempt: (endpoint: string) => Promise<T>): Promise<T> {
    const count = this.endpoints.length;
    const tried: string[] = [];
    let answered: ApiError | null = null;
    for (let i = 0; i < count; i++) {
      const index = (this.preferred + i) % count;
      const endpoint = this.endpoints[index] ?? '';
      try {
        const result = await attempt(endpoint);
        this.preferred = index;
        return result;
      } catch (err) {
        const outcome = classify(err, endpoint);
        switch (outcome.kind) {
          case 'final':
            this.preferred = index;
            throw outcome.error;
          case 'retryable':
            answered = outcome.error;
            tried.push(`${endpoint} (${outcome.error.code})`);
            break;
          case 'unreachable':
            tried.push(`${endpoint} (${outcome.reason})`);
            break;
          default: {
            const unreachable: never = outcome;
            throw unreachable;
          }
        }
      }
    }
    if (answered !== null) throw answered;
    throw new ApiError('UNREACHABLE', `no endpoint answered; tried ${tried.join(', ')}`);
  }

  private async onEndpoint<T>(endpoint: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      const outcome = classify(err, endpoint);
      switch (outcome.kind) {
        case 'final':
          throw outcome.error;
        case 'retryable':
          throw outcome.error;
        case 'unreachable':
          throw new ApiError('UNREACHABLE', `${endpoint} did not answer (${outcome.reason})`, undefined, { cause: err });
        default: {
          const unreachable: never = outcome;
          throw unreachable;
        }
      }
    }
  }

  /** A Put, Get or Delete: on the endpoint's KvSession, or as a unary call when the value is
   * large or the endpoint has no KvSession. Both answers decode the same way. */
  private kv(endpoint: string, method: 'Put' | 'Get' | 'Delete', request: object, op: KvSessionOp): Promise<unknown> {
    const session = this.session(endpoint);
    if (session.unsupported || op.value.byteLength > MAX_SESSION_VALUE_BYTES) return this.unary(endpoint, method, request);
    return session.request(op, this.timeoutMs).then(
      (res: KvSessionResponseMsg) => res,
      (err: unknown) => {
        if (err instanceof KvSessionError && err.code === grpc.status.UNIMPLEMENTED) return this.unary(endpoint, method, request);
        throw err;
      },
    );
  }

  private session(endpoint: string): KvSessionClient {
    let session = this.sessions.get(endpoint);
    if (session === undefined) {
      const method = methodDefinition('KvSession') as unknown as grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>;
      session = new KvSessionClient(this.channel(endpoint), method, endpoint);
      this.sessions.set(endpoint, session);
    }
    return session;
  }

  private unary(endpoint: string, method: ControllerMethod, request: object): Promise<unknown> {
    const def = methodDefinition(method);
    const channel = this.channel(endpoint);
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
  }

  private waitForReady(endpoint: string, channel: grpc.Client): Promise<void> {
    return new Promise((resolve, reject) => {
      channel.waitForReady(Date.now() + this.timeoutMs, (err) =>
        err ? reject(new ConnectFailure(endpoint, this.timeoutMs)) : resolve(),
      );
    });
  }

  private async auditOn(
    endpoint: string,
    request: object,
    opts: AuditOptions,
    onEvent: (e: AuditEventJson) => void,
  ): Promise<void> {
    if (opts.signal?.aborted === true) return;
    const def = methodDefinition('Audit');
    const channel = this.channel(endpoint);
    // A followed stream has no deadline, so a silent endpoint must be caught while connecting.
    if (opts.follow) await this.waitForReady(endpoint, channel);
    const callOptions: grpc.CallOptions = opts.follow ? {} : { deadline: Date.now() + this.timeoutMs };
    const stream = channel.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      new grpc.Metadata(),
      callOptions,
    );
    this.streams.add(stream);
    let delivered = 0;
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      stream.cancel();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (raw: unknown) => {
          let event: AuditEventJson;
          try {
            event = decodeAuditEvent(raw);
          } catch (err) {
            stream.cancel();
            reject(err);
            return;
          }
          delivered += 1;
          onEvent(event);
        });
        stream.on('error', (err: unknown) => {
          const failure = asCallFailure(err);
          if (aborted || this.closed || failure?.code === grpc.status.CANCELLED) {
            resolve();
            return;
          }
          if (delivered > 0 && classify(err, endpoint).kind !== 'final') {
            // Not retried elsewhere: the events so far would be delivered again.
            const reason = failure === null ? String(err) : `${statusName(failure.code)}: ${failure.details}`;
            reject(new ApiError('UNREACHABLE', `lost the audit stream from ${endpoint} (${reason})`, undefined, { cause: err }));
            return;
          }
          reject(err);
        });
        stream.on('end', () => resolve());
      });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.streams.delete(stream);
    }
  }
}
