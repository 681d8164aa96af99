/**
 * `ctl resources` from the gatherer's report to the JSON: the wire messages (ResourcesResponse
 * in proto/controller.proto) and the decoder that reads a server's answer as untrusted input.
 * The JSON is the gatherer's own row type (src/resources/types.ts), the contract's shape.
 */
import type { MemberResourcesRow, ResourcesReport } from '../resources/types.js';
import { Fields } from '../util/untrusted.js';
import { ApiError } from './errors.js';

export interface ResourcesRequestMsg {
  readonly refresh: boolean;
}

export interface MemberResourcesMsg {
  readonly id: string;
  readonly address: string;
  readonly reachable: boolean;
  readonly cached: boolean;
  readonly fetchedAt: string;
  readonly hasStatic: boolean;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly cpuFlags: readonly string[];
  readonly memoryBytes: number;
  readonly hasLive: boolean;
  readonly diskFreeBytes: number;
  readonly loadAverage: readonly number[];
  readonly liveAt: string;
  readonly error: string;
}

export interface ResourcesResponseMsg {
  readonly members: readonly MemberResourcesMsg[];
  readonly commonCpuFlags: readonly string[];
  readonly answeredBy: string;
}

/** `ctl resources -o json`. */
export type ResourcesJson = ResourcesReport;

export function resourcesToWire(report: ResourcesReport): ResourcesResponseMsg {
  return {
    members: report.members.map((m) => ({
      id: m.id,
      address: m.address,
      reachable: m.reachable,
      cached: m.cached,
      fetchedAt: m.fetchedAt ?? '',
      hasStatic: m.cpus !== null,
      cpus: m.cpus ?? 0,
      cpuModel: m.cpuModel ?? '',
      cpuFlags: m.cpuFlags ?? [],
      memoryBytes: m.memoryBytes ?? 0,
      hasLive: m.diskFreeBytes !== null,
      diskFreeBytes: m.diskFreeBytes ?? 0,
      loadAverage: m.loadAverage ?? [],
      liveAt: m.liveAt ?? '',
      error: m.error ?? '',
    })),
    commonCpuFlags: report.commonCpuFlags,
    answeredBy: report.answeredBy,
  };
}

function answer(raw: unknown, message: string): Fields {
  return Fields.of(raw, message, (text) => new ApiError('INTERNAL', `unexpected answer from the server: ${text}`));
}

const orNull = (s: string): string | null => (s === '' ? null : s);

function loadAverageOf(f: Fields): number[] {
  const load = f.array('loadAverage', 3);
  if (!load.every((x) => typeof x === 'number' && Number.isFinite(x))) f.fail('field "loadAverage" must hold finite numbers');
  return load as number[];
}

function decodeMember(raw: unknown): MemberResourcesRow {
  const f = answer(raw, 'MemberResources');
  const hasStatic = f.boolean('hasStatic');
  const hasLive = f.boolean('hasLive');
  const error = f.string('error');
  return {
    id: f.string('id'),
    reachable: f.boolean('reachable'),
    cached: f.boolean('cached'),
    fetchedAt: orNull(f.string('fetchedAt')),
    cpus: hasStatic ? f.number('cpus') : null,
    cpuModel: hasStatic ? f.string('cpuModel') : null,
    cpuFlags: hasStatic ? f.strings('cpuFlags') : null,
    memoryBytes: hasStatic ? f.number('memoryBytes') : null,
    diskFreeBytes: hasLive ? f.number('diskFreeBytes') : null,
    loadAverage: hasLive ? loadAverageOf(f) : null,
    address: f.string('address'),
    liveAt: orNull(f.string('liveAt')),
    error: orNull(error),
  };
}

export function decodeResources(raw: unknown): ResourcesJson {
  const f = answer(raw, 'ResourcesResponse');
  return { members: f.array('members').map(decodeMember), commonCpuFlags: f.strings('commonCpuFlags'), answeredBy: f.string('answeredBy') };
}
