/**
 * A scriptable controller.api.Controller server for client and CLI tests: each unary method
 * answers from a handler (or UNIMPLEMENTED), every request is recorded, and failures can be
 * sent with or without the `error-code` metadata that separates "said no" from "not there".
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { controllerServiceDefinition, type ControllerMethod } from '../../src/api/controller-proto.js';
import { serviceError, type ApiErrorCode } from '../../src/api/errors.js';

export type Request = Readonly<Record<string, unknown>>;
export type UnaryMethod = Exclude<ControllerMethod, 'Audit' | 'KvSession'>;

/** Thrown by a handler to fail the call with this status. */
export class FakeStatus {
  constructor(readonly status: Partial<grpc.StatusObject>) {}
}

export function apiFailure(code: ApiErrorCode, details: string, notProposed = false): FakeStatus {
  return new FakeStatus(serviceError(code, details, notProposed));
}

/** A failure without `error-code`: to the client it looks like the endpoint is not there. */
export function bareFailure(code: grpc.status, details: string): FakeStatus {
  return new FakeStatus({ code, details });
}

/** Returns the response, a promise of it, or throws FakeStatus. `never` leaves the call hanging. */
export type UnaryHandler = (request: Request) => unknown;

export interface FakeOptions {
  readonly unary?: Partial<Record<UnaryMethod, UnaryHandler>>;
  readonly audit?: (request: Request, call: grpc.ServerWritableStream<unknown, unknown>) => void;
  /** Serve KvSession by handing each request to the Put, Get or Delete handler (default true).
   * false: answer it UNIMPLEMENTED, as a server from before KvSession would. 'capped': refuse
   * each session at its start RESOURCE_EXHAUSTED with its error code, as a controller at its
   * session caps does (kv-session-limits.ts); each refused session is recorded as a KvSession call. */
  readonly session?: boolean | 'capped';
}

export interface Fake {
  readonly address: string;
  /** via: how the request came, as a unary call or on a KvSession. */
  readonly calls: { method: ControllerMethod; request: Request; via: 'unary' | 'session' }[];
  stop(): Promise<void>;
}

function asRequest(v: unknown): Request {
  return typeof v === 'object' && v !== null ? (v as Request) : {};
}

function unaryImpl(method: UnaryMethod, handler: UnaryHandler | undefined, fake: Fake): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const request = asRequest(call.request);
    fake.calls.push({ method, request, via: 'unary' });
    if (handler === undefined) {
      callback({ code: grpc.status.UNIMPLEMENTED, details: `fake has no ${method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request))
      .then(
        (value) => callback(null, value),
        (err: unknown) =>
          callback(err instanceof FakeStatus ? err.status : { code: grpc.status.INTERNAL, details: String(err) }),
      );
  };
}

const SESSION_METHODS: Readonly<Record<string, 'Put' | 'Get' | 'Delete'>> = { KV_OP_PUT: 'Put', KV_OP_GET: 'Get', KV_OP_DELETE: 'Delete' };

/** A session request in the shape of its unary twin, so tests check both paths alike. */
function unaryShape(req: Request): Request {
  const clientId = typeof req['clientId'] === 'string' ? req['clientId'] : '';
  const client = clientId === '' ? null : { id: clientId, seq: req['clientSeq'], retry: req['clientRetry'] === true, owner: typeof req['clientOwner'] === 'string' ? req['clientOwner'] : '' };
  switch (req['op']) {
    case 'KV_OP_GET':
      return { key: req['key'], serializable: req['serializable'] };
    case 'KV_OP_PUT':
      return { key: req['key'], value: req['value'], hasIfRevision: req['hasIfRevision'], ifRevision: req['ifRevision'], client, forwarded: req['forwarded'] };
    default:
      return { key: req['key'], client, forwarded: req['forwarded'], hasIfRevision: req['hasIfRevision'], ifRevision: req['ifRevision'] };
  }
}

/**
 * KvSession over the unary handlers: a FakeStatus with an error-code is that request's answer;
 * one without (the endpoint "is not there") fails the whole stream, as a dead server would.
 */
function sessionImpl(unary: Partial<Record<UnaryMethod, UnaryHandler>>, fake: Fake): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    call.on('data', (raw: unknown) => {
      const req = asRequest(raw);
      const method = SESSION_METHODS[String(req['op'])];
      const id = req['id'];
      if (method === undefined) {
        call.write({ id, errorCode: 'INVALID_ARGUMENT', errorMessage: `unknown op ${String(req['op'])}` });
        return;
      }
      const request = unaryShape(req);
      fake.calls.push({ method, request, via: 'session' });
      const handler = unary[method];
      Promise.resolve()
        .then(() => {
          if (handler === undefined) throw new FakeStatus({ code: grpc.status.UNIMPLEMENTED, details: `fake has no ${method}` });
          return handler(request);
        })
        .then(
          (value) => call.write({ id, ...asRequest(value) }),
          (err: unknown) => {
            const status = err instanceof FakeStatus ? err.status : { code: grpc.status.INTERNAL, details: String(err) };
            const code = status.metadata?.get('error-code')[0];
            const notProposed = status.metadata?.get('not-proposed')[0] === 'true';
            if (typeof code === 'string') call.write({ id, errorCode: code, errorMessage: status.details ?? '', notProposed });
            else call.emit('error', status);
          },
        );
    });
    call.on('end', () => call.end());
  };
}

export async function startFake(opts: FakeOptions): Promise<Fake> {
  const server = new grpc.Server();
  const calls: Fake['calls'] = [];
  const fake: Fake = {
    address: '',
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
  const methods: readonly UnaryMethod[] = [
    'Put',
    'Get',
    'Delete',
    'ListControllers',
    'Status',
    'MemberAdd',
    'MemberPromote',
    'MemberRemove',
    'LeaderTransfer',
    'ConfigGet',
    'ConfigSet',
  ];
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of methods) impl[m] = unaryImpl(m, opts.unary?.[m], fake);
  impl['Audit'] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
    const request = asRequest(call.request);
    calls.push({ method: 'Audit', request, via: 'unary' });
    if (opts.audit === undefined) call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'fake has no Audit' });
    else opts.audit(request, call);
  };
  if (opts.session === 'capped') {
    impl['KvSession'] = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      calls.push({ method: 'KvSession', request: {}, via: 'session' });
      call.emit('error', serviceError('RESOURCE_EXHAUSTED', 'this client holds 256 KvSessions on c1, the most one client may'));
    };
  } else if (opts.session !== false) impl['KvSession'] = sessionImpl(opts.unary ?? {}, fake);
  server.addService(controllerServiceDefinition().service, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { ...fake, address: `127.0.0.1:${port}` };
}

/** An address nothing listens on: the OS hands out a free port, which is then closed again. */
export async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** One member in the wire shape (camelCase, as proto-loader expects). */
export function wireController(id: string, port: number, over: Partial<Record<string, unknown>> = {}): Request {
  return {
    id,
    address: `127.0.0.1:${port}`,
    online: true,
    localState: 'online',
    clusterState: 'online',
    leader: false,
    voter: true,
    lastContactMs: 112,
    heartbeatTimeoutMs: 2230,
    rttP50Ms: 0.4,
    rttP99Ms: 1.9,
    appliedIndex: 4411,
    lagEntries: 0,
    version: '0.1.0',
    neverHeard: false,
    answeredBy: 'c1',
    stale: false,
    ...over,
  };
}

export function threeControllers(): Request[] {
  return [
    wireController('c1', 7101, { leader: true, lastContactMs: 0 }),
    wireController('c2', 7102),
    wireController('c3', 7103, { online: false, localState: 'offline', clusterState: 'offline', lagEntries: 17 }),
  ];
}
