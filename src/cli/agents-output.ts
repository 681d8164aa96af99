/**
 * How `ctl` prints resources and agents: compact tables for people, JSON and YAML in the
 * contract's field order for scripts. Each renderer returns the whole text, ending in a newline.
 */
import Table from 'cli-table3';
import YAML from 'yaml';
import { AGENT_FIELDS, type AgentRow } from '../agents/listing.js';
import type { AgentsView } from '../api/mesh-client.js';
import { resourceJson, type Resource } from '../statemachine/index.js';
import type { ListFormat } from './output.js';

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const t = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const r of rows) t.push([...r]);
  return `${t.toString()}\n`;
}

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
      return `${JSON.stringify(resources.map(resourceJson), null, 2)}\n`;
    case 'yaml':
      return resources.length === 0 ? '[]\n' : YAML.stringify(resources.map(resourceJson));
    case 'table':
      return table(
        ['kind', 'name', 'spec', 'labels', 'status', 'revision'],
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
function shortError(e: string | null): string {
  if (e === null) return '-';
  return e.length > 60 ? `${e.slice(0, 57)}...` : e;
}

export function renderAgents(view: AgentsView, format: ListFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(view.agents.map(agentJson), null, 2)}\n`;
    case 'yaml':
      return view.agents.length === 0 ? '[]\n' : YAML.stringify(view.agents.map(agentJson));
    case 'table': {
      const header = `answered by ${view.answeredBy === '' ? '?' : view.answeredBy}${view.stale ? ` (STALE: ${view.staleReason || 'cut off from a quorum'})` : ''}; ${view.agents.length} agent(s)\n`;
      return (
        header +
        table(
          ['id', 'online', 'controller', 'state', 'sent', 'acked', 'nacked', 'pushes', 'resources', 'contact ms', 'timeout ms', 'last error'],
          view.agents.map((a) => [
            a.id,
            a.online ? 'yes' : 'no',
            a.controller,
            a.state,
            dash(a.sentVersion),
            dash(a.ackedVersion),
            dash(a.nackedVersion),
            String(a.pushes),
            String(a.resources),
            dash(a.lastContactMs),
            String(a.heartbeatTimeoutMs),
            shortError(a.lastError),
          ]),
        )
      );
    }
    default: {
      const never: never = format;
      return never;
    }
  }
}
