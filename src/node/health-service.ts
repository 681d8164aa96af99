/**
 * The standard gRPC health service (proto/health.proto) a controller serves: Check, List and
 * Watch of each service's status, as load balancers and probes expect. Served here rather than
 * by the grpc-health-check package, which parsed its .proto with proto-loader at every start
 * (a seventh of a controller's start-up CPU) and held any number of Watch streams: health is
 * open to callers without a member's certificate (door-gate.ts), so watches are capped per client
 * and in all (watch-limits.ts, which counts the Operator service's watches; clients are told apart
 * as there), past which a new one is refused RESOURCE_EXHAUSTED. A watch keeps its service name
 * for its life: names are refused past MAX_SERVICE_NAME_BYTES (an adversarial test held 600
 * watches of 4 MB names, and a follower grew from 89 MB to 5.8 GB).
 */
import * as grpc from '@grpc/grpc-js';
import { ServiceFailure, toServiceError } from '../api/service-error.js';
import { failStream } from '../api/stream-writer.js';
import { watchClientOf } from '../api/watch-client.js';
import { WatchLimits, type WatchLimitsEvents, type WatchLimitsOptions, type WatchRefusal } from '../api/watch-limits.js';
import { loadProto, lookupService } from '../transport/proto.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Watch streams a controller holds at once, all callers together. */
export const MAX_HEALTH_WATCHES = 1000;
/** Watch streams one client (certificate identity, or plaintext connection) holds: a tenth of all, so one cannot starve the rest. */
export const MAX_HEALTH_WATCHES_PER_CLIENT = 100;
/** A service name's length at most: gRPC service names are short ("package.Service"). */
export const MAX_SERVICE_NAME_BYTES = 256;

export type HealthWatchCaps = Pick<WatchLimitsOptions, 'maxPerClient' | 'maxTotal'>;

export const DEFAULT_HEALTH_WATCH_CAPS: HealthWatchCaps = { maxPerClient: MAX_HEALTH_WATCHES_PER_CLIENT, maxTotal: MAX_HEALTH_WATCHES };

/** List answers this many services at most (the protocol's own limit, as gRPC's servers have it). */
const MAX_LISTED = 100;

interface HealthRequest {
  readonly service: string;
}

type WatchStatus = ServingStatus | 'SERVICE_UNKNOWN';

/** INVALID_ARGUMENT for a name past MAX_SERVICE_NAME_BYTES; null for one within it. */
function longName(service: string): grpc.ServiceError | null {
  const bytes = Buffer.byteLength(service, 'utf8');
  if (bytes <= MAX_SERVICE_NAME_BYTES) return null;
  return toServiceError(new ServiceFailure('INVALID_ARGUMENT', `the service name is ${bytes} bytes, longer than the ${MAX_SERVICE_NAME_BYTES} bytes a health service name may be`));
}

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  private readonly limits: WatchLimits;

  /** `onRefused`: a Watch refused at a cap, and which (health-metrics.ts counts it). */
  constructor(
    initial: Readonly<Record<string, ServingStatus>>,
    caps: HealthWatchCaps = DEFAULT_HEALTH_WATCH_CAPS,
    onRefused: (reason: WatchRefusal) => void = () => undefined,
  ) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
    // Health watches write a few bytes at a change and hold no budget: only the caps apply.
    const events: WatchLimitsEvents = { refused: onRefused, cutOff: () => undefined };
    const words = { one: 'health watch', many: 'health watches', perClientHint: 'cancel one', totalHint: 'watch through another controller' };
    this.limits = new WatchLimits({ ...caps, words }, () => performance.now(), events);
  }

  setStatus(service: string, status: ServingStatus): void {
    const before = this.statuses.get(service);
    this.statuses.set(service, status);
    if (before === status) return;
    for (const notify of this.watchers.get(service) ?? []) notify(status);
  }

  get watches(): number {
    return this.limits.open;
  }

  addToServer(server: grpc.Server): void {
    const definition = lookupService(loadProto('health.proto'), 'grpc.health.v1.Health').service;
    server.addService(definition, {
      Check: (call: grpc.ServerUnaryCall<HealthRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
        const invalid = longName(call.request.service);
        if (invalid !== null) {
          done(invalid);
          return;
        }
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
    const stream = call as grpc.ServerWritableStream<unknown, unknown>;
    const service = call.request.service;
    const invalid = longName(service);
    if (invalid !== null) {
      failStream(stream, invalid);
      return;
    }
    const client = watchClientOf(call);
    const admission = this.limits.admit(client.key, client.name, () => undefined);
    if (!admission.ok) {
      failStream(stream, toServiceError(new ServiceFailure('RESOURCE_EXHAUSTED', admission.message)));
      return;
    }
    const lease = admission.lease;
    const notify = (status: WatchStatus): void => void call.write({ status });
    const set = this.watchers.get(service) ?? new Set();
    set.add(notify);
    this.watchers.set(service, set);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      lease.close();
      set.delete(notify);
      if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
    };
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
    notify(this.statuses.get(service) ?? 'SERVICE_UNKNOWN');
  }
}
