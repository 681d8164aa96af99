/**
 * Forwards a request that only the leader can serve. One client per leader address, reused:
 * a leader change costs one new channel, not one per request.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProto, lookupService } from '../transport/proto.js';
import { fromServiceError, ServiceFailure } from './service-error.js';

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;

export class LeaderForwarder {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly ctor: grpc.ServiceClientConstructor;

  constructor(private readonly credentials: grpc.ChannelCredentials) {
    this.ctor = lookupService(loadProto('controller.proto'), 'controller.api.Controller');
  }

  call<T>(address: string, method: string, request: object, deadline: number): Promise<T> {
    let client = this.clients.get(address);
    if (!client) {
      client = new this.ctor(address, this.credentials);
      this.clients.set(address, client);
    }
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (typeof fn !== 'function') return Promise.reject(new ServiceFailure('INTERNAL', `no method ${method}`));
    return new Promise<T>((resolve, reject) => {
      fn.call(client, { ...request, forwarded: true }, new grpc.Metadata(), { deadline }, (err, res) => {
        if (err) {
          // The leader's own answer passes through; a broken connection becomes "retry".
          reject(fromServiceError(err) ?? new ServiceFailure('NO_LEADER', `leader at ${address} unreachable: ${err.details ?? err.message}`));
        } else {
          resolve(res as T);
        }
      });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
