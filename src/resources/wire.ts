/**
 * controller.peer.MemberResources (proto/peer.proto) on the wire: the service definition, and
 * a member's answer decoded as the untrusted input it is.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProto, lookupService } from '../transport/proto.js';
import { Fields } from '../util/untrusted.js';
import { ResourcesError } from './errors.js';
import type { MachineReading } from './types.js';
import { liveFrom, staticFrom } from './validate.js';

/** A member's answer is a few KiB: anything larger is refused by gRPC before it is decoded. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface ResourcesQueryMsg {
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly includeStatic: boolean;
  /** The identity envelope every peer message carries (src/identity). */
  readonly clusterId: string;
  readonly incarnation: string;
  readonly toIncarnation: string;
  readonly creation: string;
  readonly boot: string;
}

export interface MachineResourcesMsg {
  readonly member: string;
  readonly hasStatic: boolean;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly cpuFlags: readonly string[];
  readonly memoryBytes: number;
  readonly diskFreeBytes: number;
  readonly loadAverage: readonly number[];
  readonly readAtMs: number;
  /** The member's controller.min_free_disk_bytes; 0 when off, or from a version that does not say. */
  readonly minFreeDiskBytes: number;
}

let definition: grpc.ServiceClientConstructor | null = null;

export function memberResourcesDefinition(): grpc.ServiceClientConstructor {
  definition ??= lookupService(loadProto('peer.proto'), 'controller.peer.MemberResources');
  return definition;
}

export function describeMethod(): grpc.MethodDefinition<unknown, unknown> {
  const method = memberResourcesDefinition().service['Describe'];
  if (method === undefined) throw new Error('unreachable: controller.peer.MemberResources has no method Describe');
  return method;
}

export function toWire(member: string, reading: MachineReading, minFreeDiskBytes = 0): MachineResourcesMsg {
  const s = reading.static;
  return {
    member,
    hasStatic: s !== null,
    cpus: s?.cpus ?? 0,
    cpuModel: s?.cpuModel ?? '',
    cpuFlags: s?.cpuFlags ?? [],
    memoryBytes: s?.memoryBytes ?? 0,
    diskFreeBytes: reading.live.diskFreeBytes,
    loadAverage: reading.live.loadAverage,
    readAtMs: reading.live.readAt,
    minFreeDiskBytes,
  };
}

/** Throws ResourcesError INVALID_ANSWER naming what is wrong with the answer of `member`. */
export function fromWire(raw: unknown, member: string, includeStatic: boolean): MachineReading {
  const f = Fields.of(raw, `the resources answer of ${member}`, (m) => new ResourcesError('INVALID_ANSWER', m));
  const from = f.string('member');
  if (from !== member) f.fail(`expected an answer from ${JSON.stringify(member)}, found one from ${JSON.stringify(from)}`);
  const hasStatic = f.boolean('hasStatic');
  if (includeStatic && !hasStatic) f.fail('asked for the static figures, found none');
  return { static: includeStatic ? staticFrom(f) : null, live: liveFrom(f, 'readAtMs') };
}

/** A member's disk as the leader judges it (src/api/disk-floor.ts): its free bytes and its own floor. */
export interface DiskReading {
  readonly freeBytes: number;
  readonly floorBytes: number;
}

/** The disk figures of a member's answer; throws ResourcesError INVALID_ANSWER as fromWire does. */
export function diskFromWire(raw: unknown, member: string): DiskReading {
  const reading = fromWire(raw, member, false);
  const f = Fields.of(raw, `the resources answer of ${member}`, (m) => new ResourcesError('INVALID_ANSWER', m));
  // An older member leaves it out (0 once decoded): judged against the leader's floor alone.
  const floorBytes = f.optionalInt('minFreeDiskBytes', { min: 0 }) ?? 0;
  return { freeBytes: reading.live.diskFreeBytes, floorBytes };
}
