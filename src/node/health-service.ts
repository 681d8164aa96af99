/**
 * The standard gRPC health service (proto/health.proto) a controller serves: Check, List and
 * Watch of each service's status, as load balancers and probes expect. Served here rather than
 * by the grpc-health-check package, which parsed its .proto with proto-loader at every start
 * (a seventh of a controller's start-up CPU) and held any number of Watch streams: health is
 * open to callers without a member's certificate (door-gate.ts), so watches are capped, past
 * which a new one is refused RESOURCE_EXHAUSTED.
 */
import * as grpc from '@grpc/grpc-js';
import { failStream } from '../api/stream-writer.js';
import { loadProto, lookupService } from '../transport/proto.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Watch streams a controller holds at once, all callers together. */
export const MAX_HEALTH_WATCHES = 1000;

/** List answers this many services at most (the protocol's own limit, as gRPC's servers have it). */
const MAX_LISTED = 100;

interface HealthRequest {
  readonly service: string;
}

type WatchStatus = ServingStatus | 'SERVICE_UNKNOWN';

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  private watching = 0;

  /** `onRefused`: a Watch refused at the cap (health-metrics.ts counts it). */
  constructor(
    initial: Readonly<Record<string, ServingStatus>>,
    private readonly maxWatches = MAX_HEALTH_WATCHES,
    private readonly onRefused: () => void = () => undefined,
  ) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    const before = this.statuses.get(service);
    this.statuses.set(service, status);
    if (before === status) return;
    for (const notify of this.watchers.get(service) ?? []) notify(status);
  }

  get watches(): number {
    return this.watching;
  }

  addToServer(server: grpc.Server): void {
    const definition = lookupService(loadProto('health.proto'), 'grpc.health.v1.Health').service;
    server.addService(definition, {
      Check: (call: grpc.ServerUnaryCall<HealthRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) done({ code: grpc.status.NOT_FOUND, details: `Health status unknown for service ${call.request.service}` });
        else done(null, { status });
      },
      List: (_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
        if (this.statuses.size > MAX_LISTED) {
          done({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'Too many services to list.' });
          return;
        }
        done(null, { statuses: Object.fromEntries([...this.statuses].map(([service, status]) => [service, { status }])) });
      },
      Watch: (call: grpc.ServerWritableStream<HealthRequest, unknown>) => this.watch(call),
    });
  }

  private watch(call: grpc.ServerWritableStream<HealthRequest, unknown>): void {
    if (this.watching >= this.maxWatches) {
      this.onRefused();
      const details = `this controller holds ${this.maxWatches} health watches, the most it serves`;
      failStream(call, Object.assign(new Error(details), { code: grpc.status.RESOURCE_EXHAUSTED, details, metadata: new grpc.Metadata() }));
      return;
    }
    const service = call.request.service;
    const notify = (status: WatchStatus): void => void call.write({ status });
    const set = this.watchers.get(service) ?? new Set();
    set.add(notify);
    this.watchers.set(service, set);
    this.watching++;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.watching--;
      set.delete(notify);
      if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
    };
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
    notify(this.statuses.get(service) ?? 'SERVICE_UNKNOWN');
  }
}
