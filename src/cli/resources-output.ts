/**
 * How `ctl resources` prints each member's machine: a plain table for people (sizes in GiB,
 * cached figures marked with the time they were fetched), the contract's JSON for scripts.
 */
import type { ResourcesJson } from '../api/resources-wire.js';
import type { MemberResourcesRow } from '../resources/types.js';
import { plainTable } from './plain-table.js';
import { jsonText } from './printable.js';

export const RESOURCES_FORMATS = ['table', 'json'] as const;
export type ResourcesFormat = (typeof RESOURCES_FORMATS)[number];

/** The contract's fields first, in its order, then the additions. */
function rowJson(m: MemberResourcesRow): MemberResourcesRow {
  return {
    id: m.id,
    reachable: m.reachable,
    cached: m.cached,
    fetchedAt: m.fetchedAt,
    cpus: m.cpus,
    cpuModel: m.cpuModel,
    cpuFlags: m.cpuFlags,
    memoryBytes: m.memoryBytes,
    diskFreeBytes: m.diskFreeBytes,
    loadAverage: m.loadAverage,
    address: m.address,
    liveAt: m.liveAt,
    error: m.error,
  };
}

export function resourcesJson(r: ResourcesJson): ResourcesJson {
  return { members: r.members.map(rowJson), commonCpuFlags: r.commonCpuFlags, answeredBy: r.answeredBy };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(1)}${units[u]}`;
}

export function resourcesTable(r: ResourcesJson): string {
  const rows = r.members.map((m) => [
    m.id,
    m.address,
    m.reachable ? 'yes' : 'no',
    m.cpus === null ? '-' : String(m.cpus),
    m.memoryBytes === null ? '-' : formatBytes(m.memoryBytes),
    m.diskFreeBytes === null ? '-' : formatBytes(m.diskFreeBytes),
    m.loadAverage === null ? '-' : m.loadAverage.map((x) => x.toFixed(2)).join(' '),
    m.fetchedAt === null ? '-' : `${m.fetchedAt}${m.cached ? ' (cached)' : ''}`,
    m.cpuModel ?? '-',
    m.error ?? '',
  ]);
  const flags = r.commonCpuFlags.length === 0 ? '(none)' : r.commonCpuFlags.join(' ');
  return `${plainTable(['ID', 'ADDRESS', 'REACHABLE', 'CPUS', 'MEMORY', 'DISK-FREE', 'LOAD', 'FETCHED', 'CPU-MODEL', 'ERROR'], rows)}common CPU flags: ${flags}\n`;
}

export function renderResources(r: ResourcesJson, format: ResourcesFormat): string {
  switch (format) {
    case 'table':
      return resourcesTable(r);
    case 'json':
      return `${jsonText(resourcesJson(r), 2)}\n`;
    default: {
      const never: never = format;
      return never;
    }
  }
}
