/**
 * How `ctl` prints answers: tables for people, JSON and YAML for scripts. Every renderer returns
 * the whole text (ending in a newline) so callers write it in one piece; JSON keys follow the
 * contract's order because objects are rebuilt field by field here.
 */
import { printable, jsonText, yamlText } from './printable.js';
import type { AuditDroppedJson, AuditEventJson, KvEntry, KvJson, MembersJson, StatusJson } from '../api/answers.js';
import { CONTROLLER_FIELDS, type ControllersView, type ControllerStatus } from '../api/controller-rows.js';
import { controllersTable } from './controllers-table.js';

export { formatNumber } from './cell-format.js';

export const LIST_FORMATS = ['table', 'json', 'yaml'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

/** `list controllers` also has `wide`: the table with every column. */
export const CONTROLLER_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type ControllerFormat = (typeof CONTROLLER_FORMATS)[number];

export const STATUS_FORMATS = ['text', 'json', 'yaml'] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

export const KV_FORMATS = ['text', 'json'] as const;
export type KvFormat = (typeof KV_FORMATS)[number];

export const AUDIT_FORMATS = ['text', 'json'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

/** The contract's fields in its order, then the fields added beside them, whatever object came in. */
export function controllerJson(c: ControllerStatus): Record<string, unknown> {
  return Object.fromEntries(CONTROLLER_FIELDS.map((field) => [field, c[field]]));
}

export function renderControllers(view: ControllersView, format: ControllerFormat): string {
  switch (format) {
    case 'table':
    case 'wide':
      return controllersTable(view, format === 'wide');
    case 'json':
      return `${jsonText(view.controllers.map(controllerJson), 2)}\n`;
    case 'yaml':
      return yamlText(view.controllers.map(controllerJson));
    default: {
      const unreachable: never = format;
      return unreachable;
    }
  }
}

/** The stderr line for a stale view: its node cannot reach a quorum, or hears no leader (the reason says which). */
export function staleWarning(view: Pick<ControllersView, 'answeredBy' | 'staleReason'>): string {
  const reason = view.staleReason === '' ? 'no reason given' : view.staleReason;
  const who = view.answeredBy === '' ? 'the answering controller' : view.answeredBy;
  return `warning: ${who} cannot vouch for this view; it may be stale (${reason})`;
}

/** A stderr line per member two processes speak as, in the answering node's view (DUPLICATE_PROCESS). */
export function duplicateWarnings(view: ControllersView): string[] {
  const who = view.answeredBy === '' ? 'the answering controller' : view.answeredBy;
  return view.controllers
    .filter((c) => c.duplicateProcess)
    .map((c) =>
      c.id === view.answeredBy
        ? `warning: peers refuse ${c.id}, the answering controller, as DUPLICATE_PROCESS: another process speaks as ${c.id} (docs/operate.md, DUPLICATE_PROCESS)`
        : `warning: two processes speak as ${c.id} in ${who}'s view (DUPLICATE_PROCESS): the one its row shows may be a copy of its data dir; stop the copy (docs/operate.md, DUPLICATE_PROCESS)`,
    );
}

function statusJson(s: StatusJson): StatusJson {
  return {
    id: s.id,
    cluster: s.cluster,
    role: s.role,
    term: s.term,
    leader: s.leader,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    lastIndex: s.lastIndex,
    firstIndex: s.firstIndex,
    snapshotIndex: s.snapshotIndex,
    voters: s.voters,
    learners: s.learners,
    version: s.version,
    clusterId: s.clusterId,
    commitStallMs: s.commitStallMs,
    commitStalled: s.commitStalled,
    stale: s.stale,
    staleReason: s.staleReason,
    clusterVersion: s.clusterVersion,
  };
}

export function renderStatus(s: StatusJson, format: StatusFormat): string {
  switch (format) {
    case 'json':
      return `${jsonText(statusJson(s), 2)}\n`;
    case 'yaml':
      return yamlText(statusJson(s));
    case 'text': {
      const rows = Object.entries(statusJson(s)).map(([k, v]): [string, string] => {
        const text = Array.isArray(v) ? v.join(', ') : v === null ? '' : String(v);
        return [k, text === '' ? '-' : text];
      });
      const width = Math.max(...rows.map(([k]) => k.length));
      return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}\n`).join('');
    }
    default: {
      const unreachable: never = format;
      return unreachable;
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value as text, or null when it is not valid UTF-8. */
function textOf(value: Uint8Array): string | null {
  try {
    return utf8.decode(value);
  } catch {
    return null;
  }
}

export function kvJson(entry: KvEntry): KvJson {
  const text = textOf(entry.value);
  return text === null
    ? { key: entry.key, valueBase64: Buffer.from(entry.value).toString('base64'), revision: entry.revision }
    : { key: entry.key, value: text, revision: entry.revision };
}

/** JSON as text; the plain form is the raw value and a newline (bytes when it is not UTF-8). */
export function renderKv(entry: KvEntry, format: KvFormat): string | Uint8Array {
  switch (format) {
    case 'json':
      return `${jsonText(kvJson(entry))}\n`;
    case 'text': {
      // Text ends with a newline, as etcdctl prints it. A value that is not UTF-8 is written
      // exactly: `ctl kv get k > file` must give back the bytes `kv put k --file file` stored,
      // and a newline after them only ever corrupts the copy.
      const text = textOf(entry.value);
      return text === null ? Buffer.from(entry.value) : `${text}\n`;
    }
    default: {
      const unreachable: never = format;
      return unreachable;
    }
  }
}

export function renderMembers(m: MembersJson): string {
  const list = (ids: readonly string[]): string => (ids.length === 0 ? '-' : ids.join(','));
  return `voters: ${list(m.voters)}; learners: ${list(m.learners)}`;
}

export function auditJson(e: AuditEventJson): AuditEventJson {
  return { time: e.time, node: e.node, type: e.type, subject: e.subject, from: e.from, to: e.to, reason: e.reason };
}

/**
 * The warning `ctl audit` prints on stderr when the answering controller's trail lacks events it
 * could not write (one line, whatever -o says: stdout keeps only events).
 */
export function auditDroppedWarning(d: AuditDroppedJson): string {
  const what = d.count === 1 ? '1 audit event' : `${d.count} audit events`;
  const when = d.first === d.last ? `at ${d.first}` : `between ${d.first} and ${d.last}`;
  return printable(`warning: ${d.node} could not persist ${what} ${when} (${d.cause}); its trail lacks them: ask another controller (--endpoints) for those`);
}

/** One line per event: JSON Lines, or `TIME NODE TYPE SUBJECT FROM -> TO (REASON)`. */
export function renderAuditEvent(e: AuditEventJson, format: AuditFormat): string {
  switch (format) {
    case 'json':
      return `${jsonText(auditJson(e))}\n`;
    case 'text': {
      const change = e.from === '' && e.to === '' ? '' : ` ${e.from === '' ? '-' : e.from} -> ${e.to === '' ? '-' : e.to}`;
      const reason = e.reason === '' ? '' : ` (${e.reason})`;
      // An event about no one (cluster.version) says `-`, as an empty from or to does, so the
      // columns stay where `awk '{print $5}'` finds them.
      const subject = e.subject === '' ? '-' : e.subject;
      return `${printable(`${e.time} ${e.node} ${e.type} ${subject}${change}${reason}`)}\n`;
    }
    default: {
      const unreachable: never = format;
      return unreachable;
    }
  }
}
