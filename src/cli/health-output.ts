/**
 * How `ctl health` prints the leader's health view: a summary line and a plain table for
 * people, the contract's JSON for scripts (fields in its order, additions after).
 */
import type { HealthJson, MemberHealthJson } from '../api/health-wire.js';
import { DUPLICATE_MARK } from './controllers-table.js';
import { plainTable } from './plain-table.js';
import { jsonText } from './printable.js';

export const HEALTH_FORMATS = ['table', 'json'] as const;
export type HealthFormat = (typeof HEALTH_FORMATS)[number];

function memberJson(m: MemberHealthJson): MemberHealthJson {
  return {
    id: m.id,
    healthy: m.healthy,
    voter: m.voter,
    stableSince: m.stableSince,
    lastContactMs: m.lastContactMs,
    term: m.term,
    lagEntries: m.lagEntries,
    online: m.online,
    reason: m.reason,
    duplicateProcess: m.duplicateProcess,
  };
}

export function healthJson(h: HealthJson): HealthJson {
  return {
    healthy: h.healthy,
    leader: h.leader,
    failureTolerance: h.failureTolerance,
    members: h.members.map(memberJson),
    reason: h.reason,
    answeredBy: h.answeredBy,
    term: h.term,
    preferredLeader: h.preferredLeader,
    preferredLeaderNote: h.preferredLeaderNote,
  };
}

/** 0ms, 850ms, 3.2s, 4m10s. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms - minutes * 60_000) / 1000)}s`;
}

export function healthSummary(h: HealthJson): string {
  const voters = h.members.filter((m) => m.voter);
  const healthy = voters.filter((m) => m.healthy).length;
  const counts = `${healthy} of ${voters.length} voters healthy`;
  if (!h.healthy) return `unhealthy: ${h.reason}`;
  return `healthy: leader ${h.leader ?? '?'} (term ${h.term}), ${counts}, failure tolerance ${h.failureTolerance}`;
}

export function healthTable(h: HealthJson): string {
  const dash = (v: number | null, f: (x: number) => string = String): string => (v === null ? '-' : f(v));
  const rows = h.members.map((m) => [
    m.id,
    m.id === h.leader ? 'leader' : m.voter ? 'voter' : 'learner',
    m.healthy ? 'yes' : 'no',
    `${m.online ? 'yes' : 'no'}${m.duplicateProcess ? DUPLICATE_MARK : ''}`,
    dash(m.lastContactMs, formatMs),
    dash(m.term),
    dash(m.lagEntries),
    m.stableSince ?? '-',
    m.reason,
  ]);
  const preferred = h.preferredLeader === null ? '' : `preferred leader ${h.preferredLeader}: ${h.preferredLeaderNote}\n`;
  const judged = h.leader === null ? `answered by ${h.answeredBy}, no leader` : `judged by leader ${h.leader}, answered by ${h.answeredBy}`;
  return `${healthSummary(h)}\n${judged}\n${preferred}${plainTable(['ID', 'ROLE', 'HEALTHY', 'ONLINE', 'LAST-CONTACT', 'TERM', 'LAG', 'STABLE-SINCE', 'REASON'], rows)}`;
}

export function renderHealth(h: HealthJson, format: HealthFormat): string {
  switch (format) {
    case 'table':
      return healthTable(h);
    case 'json':
      return `${jsonText(healthJson(h), 2)}\n`;
    default: {
      const never: never = format;
      return never;
    }
  }
}
