/**
 * The table form of `ctl list controllers`: a header line naming who answered and whether that
 * view is current, then a plain table (plain-table.ts). The default columns fit in 100
 * characters for five members with 8-character ids; `-o wide` shows every field.
 */
import type { ControllersView, ControllerStatus } from '../api/controller-rows.js';
import { formatDuration, formatNumber } from './cell-format.js';
import { plainTable } from './plain-table.js';

export const DEFAULT_COLUMNS = ['ID', 'ADDRESS', 'STATUS', 'ROLE', 'LAST-CONTACT', 'LAG', 'VERSION'] as const;
export const WIDE_COLUMNS = [
  'ID',
  'ADDRESS',
  'STATUS',
  'ROLE',
  'LOCAL',
  'CLUSTER',
  'LAST-CONTACT',
  'HB-TIMEOUT',
  'RTT-P50',
  'RTT-P99',
  'APPLIED',
  'LAG',
  'VERSION',
] as const;

type Column = (typeof WIDE_COLUMNS)[number];

/** After STATUS: the answering node saw two processes speak as the member (DUPLICATE_PROCESS). */
export const DUPLICATE_MARK = '(dup)';

/** Sub-millisecond round trips keep their precision; a duration column never prints a bare number. */
function rtt(ms: number): string {
  return ms === 0 ? '-' : formatDuration(ms);
}

function cell(c: ControllerStatus, column: Column, answeredBy: string): string {
  switch (column) {
    case 'ID':
      return c.id;
    case 'ADDRESS':
      return c.address;
    case 'STATUS':
      // Marked: two processes speak as it, and the one behind this status may be a copy.
      return `${c.online ? 'online' : 'offline'}${c.duplicateProcess ? DUPLICATE_MARK : ''}`;
    case 'ROLE':
      return c.role;
    case 'LOCAL':
      return c.localState;
    case 'CLUSTER':
      return c.clusterState;
    case 'LAST-CONTACT':
      // The answering node does not contact itself; null: it never heard from the member.
      return c.id === answeredBy ? '-' : c.lastContactMs === null ? 'never' : formatDuration(c.lastContactMs);
    case 'HB-TIMEOUT':
      return c.heartbeatTimeoutMs === 0 ? '-' : formatDuration(c.heartbeatTimeoutMs);
    case 'RTT-P50':
      return rtt(c.rttP50Ms);
    case 'RTT-P99':
      return rtt(c.rttP99Ms);
    case 'APPLIED':
      return formatNumber(c.appliedIndex);
    case 'LAG':
      return formatNumber(c.lagEntries);
    case 'VERSION':
      return c.version === null || c.version === '' ? '-' : c.version;
    default: {
      const never: never = column;
      return never;
    }
  }
}

/**
 * The server's stale reason, shortened for a header that already names the node: without the
 * leading "c3 has had", and with its millisecond counts as durations.
 */
function shortReason(reason: string, answeredBy: string): string {
  const own = `${answeredBy} has had `;
  const rest = answeredBy !== '' && reason.startsWith(own) ? reason.slice(own.length) : reason;
  return rest.replace(/\b(\d+(?:\.\d+)?)ms\b/g, (_, n: string) => formatDuration(Number(n)));
}

/** `answered by c1 (current view)`, or `answered by c3 (STALE: no contact with a quorum for 4.2s ...)`. */
export function viewHeader(view: Pick<ControllersView, 'answeredBy' | 'stale' | 'staleReason'>): string {
  const who = view.answeredBy === '' ? 'an unnamed controller' : view.answeredBy;
  if (!view.stale) return `answered by ${who} (current view)`;
  const reason = view.staleReason === '' ? 'it cannot reach a quorum' : shortReason(view.staleReason, view.answeredBy);
  return `answered by ${who} (STALE: ${reason})`;
}

export function controllersTable(view: ControllersView, wide: boolean): string {
  const columns: readonly Column[] = wide ? WIDE_COLUMNS : DEFAULT_COLUMNS;
  const rows = view.controllers.map((c) => columns.map((column) => cell(c, column, view.answeredBy)));
  return `${viewHeader(view)}\n${plainTable(columns, rows)}`;
}
