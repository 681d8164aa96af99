/**
 * How `ctl` prints resources and agents: plain tables for people (plain-table.ts: no borders,
 * durations as durations), JSON and YAML in the contract's field order for scripts. Each
 * renderer returns the whole text, ending in a newline.
 */
import { AGENT_FIELDS, type AgentRow } from '../agents/listing.js';
import type { AgentsView } from '../api/mesh-client.js';
import { resourceJson, type Resource } from '../statemachine/index.js';
import { formatDuration } from './cell-format.js';
import { viewHeader } from './controllers-table.js';
import type { ControllerFormat, ListFormat } from './output.js';
import { plainTable } from './plain-table.js';
import { jsonText, yamlText } from './printable.js';

function specText(r: Resource): string {
  return r.kind === 'service' ? `${r.spec.protocol} ${r.spec.ports.join(',') || '-'}` : `${r.spec.from} -> ${r.spec.to}`;
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? '-' : pairs.join(',');
}

export function renderResources(resources: readonly Resource[], format: ListFormat): string {
  switch (format) {
    case 'json':
      return `${jsonText(resources.map(resourceJson), 2)}\n`;
    case 'yaml':
      return resources.length === 0 ? '[]\n' : yamlText(resources.map(resourceJson));
    case 'table':
      return plainTable(
        ['KIND', 'NAME', 'SPEC', 'LABELS', 'STATUS', 'REVISION'],
        resources.map((r) => [r.kind, r.name, specText(r), labelsText(r.labels), r.kind === 'service' && r.status.vip !== undefined ? `vip ${r.status.vip}` : '-', String(r.revision)]),
      );
    default: {
      const never: never = format;
      return never;
    }
  }
}

/** Exactly the contract's fields, in its order. */
export function agentJson(a: AgentRow): Record<string, unknown> {
  return Object.fromEntries(AGENT_FIELDS.map((f) => [f, a[f]]));
}

const dash = (v: number | string | null): string => (v === null || v === '' ? '-' : String(v));

/** Errors are cut in the table (the JSON has them whole). */
function shortError(e: string | null, max: number): string {
  if (e === null) return '-';
  return e.length > max ? `${e.slice(0, max - 3)}...` : e;
}

/** Refused services by name, and `(held)` when the whole declaration waits; the reasons are in the JSON. */
function refusedCell(a: AgentRow): string {
  if (a.publish === null) return '-';
  const parts = a.publish.refusedHosts.map((h) => h.name);
  if (a.publish.held !== null) parts.push('(held)');
  return parts.length === 0 ? '-' : parts.join(',');
}

const DEFAULT_COLUMNS = ['ID', 'STATUS', 'CONTROLLER', 'STATE', 'SENT', 'ACKED', 'PUSHES', 'LAST-CONTACT', 'LAST-ERROR'] as const;
const WIDE_COLUMNS = [
  'ID',
  'STATUS',
  'CONTROLLER',
  'STATE',
  'SENT',
  'ACKED',
  'NACKED',
  'PUSHES',
  'RESOURCES',
  'DEPENDENCIES',
  'HOSTS',
  'REFUSED',
  'LAST-CONTACT',
  'HB-TIMEOUT',
  'LAST-ERROR',
] as const;
type AgentColumn = (typeof WIDE_COLUMNS)[number];

function agentCell(a: AgentRow, column: AgentColumn, wide: boolean): string {
  const list = (xs: readonly string[]): string => (xs.length === 0 ? '-' : xs.join(','));
  switch (column) {
    case 'ID':
      return a.id;
    case 'STATUS':
      return a.online ? 'online' : 'offline';
    case 'CONTROLLER':
      return dash(a.controller);
    case 'STATE':
      return a.state;
    case 'SENT':
      return dash(a.sentVersion);
    case 'ACKED':
      return dash(a.ackedVersion);
    case 'NACKED':
      return dash(a.nackedVersion);
    case 'PUSHES':
      return String(a.pushes);
    case 'RESOURCES':
      return String(a.resources);
    case 'DEPENDENCIES':
      return list(a.dependencies);
    case 'HOSTS':
      return list(a.hosts);
    case 'REFUSED':
      return refusedCell(a);
    case 'LAST-CONTACT':
      return a.lastContactMs === null ? '-' : formatDuration(a.lastContactMs);
    case 'HB-TIMEOUT':
      return formatDuration(a.heartbeatTimeoutMs);
    case 'LAST-ERROR':
      return shortError(a.lastError, wide ? 120 : 20);
    default: {
      const never: never = column;
      return never;
    }
  }
}

export function renderAgents(view: AgentsView, format: ListFormat | ControllerFormat): string {
  switch (format) {
    case 'json':
      return `${jsonText(view.agents.map(agentJson), 2)}\n`;
    case 'yaml':
      return view.agents.length === 0 ? '[]\n' : yamlText(view.agents.map(agentJson));
    case 'table':
    case 'wide': {
      const wide = format === 'wide';
      const columns: readonly AgentColumn[] = wide ? WIDE_COLUMNS : DEFAULT_COLUMNS;
      const header = `${viewHeader(view)}; ${view.agents.length} agent${view.agents.length === 1 ? '' : 's'}\n`;
      return header + plainTable(columns, view.agents.map((a) => columns.map((c) => agentCell(a, c, wide))));
    }
    default: {
      const never: never = format;
      return never;
    }
  }
}
