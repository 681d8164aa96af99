/**
 * A scriptable controller.api.Controller server for client and CLI tests: each unary method
 * answers from a handler (or UNIMPLEMENTED), every request is recorded, and failures can be
 * sent with or without the `error-code` metadata that separates "said no" from "not there".
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { controllerService, type ControllerMethod } from '../../src/api/client.js';
import { serviceError, type ApiErrorCode } from '../../src/api/errors.js';

export type Request = Readonly<Record<string, unknown>>;
export type UnaryMethod = Exclude<ControllerMethod, 'Audit'>;

/** Thrown by a handler to fail the call with this status. */
export class FakeStatus {
  constructor(readonly status: Partial<grpc.StatusObject>) {}
}

export function apiFailure(code: ApiErrorCode, details: string): FakeStatus {
  return new FakeStatus(serviceError(code, details));
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
}

export interface Fake {
  readonly address: string;
  readonly calls: { method: ControllerMethod; request: Request }[];
  stop(): Promise<void>;
}

function asRequest(v: unknown): Request {
  return typeof v === 'object' && v !== null ? (v as Request) : {};
}

function unaryImpl(method: UnaryMethod, handler: UnaryHandler | undefined, fake: Fake): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const request = asRequest(call.request);
    fake.calls.push({ method, request });
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
  ];
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of methods) impl[m] = unaryImpl(m, opts.unary?.[m], fake);
  impl['Audit'] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
    const request = asRequest(call.request);
    calls.push({ method: 'Audit', request });
    if (opts.audit === undefined) call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'fake has no Audit' });
    else opts.audit(request, call);
  };
  server.addService(controllerService().service, impl);
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
