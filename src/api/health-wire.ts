/**
 * Health in depth from the leader's report to `ctl health -o json`: the wire messages
 * (HealthResponse in proto/controller.proto), the contract's JSON shape, and the decoder that
 * reads a server's answer as untrusted input.
 */
import { describeMember, type ClusterHealthReport } from '../autopilot/health.js';
import { Fields } from '../util/untrusted.js';
import { ApiError } from './errors.js';

export interface MemberHealthMsg {
  readonly id: string;
  readonly healthy: boolean;
  readonly voter: boolean;
  readonly stableSince: string;
  readonly hasLastContact: boolean;
  readonly lastContactMs: number;
  readonly hasTerm: boolean;
  readonly term: number;
  readonly hasLag: boolean;
  readonly lagEntries: number;
  readonly online: boolean;
  readonly reason: string;
  readonly duplicateProcess: boolean;
}

export interface HealthResponseMsg {
  readonly healthy: boolean;
  readonly leader: string;
  readonly failureTolerance: number;
  readonly members: readonly MemberHealthMsg[];
  readonly reason: string;
  readonly answeredBy: string;
  readonly term: number;
  readonly preferredLeader: string;
  readonly preferredLeaderNote: string;
}

/** One member in `ctl health -o json`: the contract's fields first, in its order. */
export interface MemberHealthJson {
  readonly id: string;
  readonly healthy: boolean;
  readonly voter: boolean;
  readonly stableSince: string | null;
  readonly lastContactMs: number | null;
  readonly term: number | null;
  readonly lagEntries: number | null;
  readonly online: boolean;
  readonly reason: string;
  /** The leader saw a second process speak as this member (DUPLICATE_PROCESS); `reason` says more. */
  readonly duplicateProcess: boolean;
}

/** `ctl health -o json`: the contract's fields first, in its order. */
export interface HealthJson {
  readonly healthy: boolean;
  readonly leader: string | null;
  readonly failureTolerance: number;
  readonly members: readonly MemberHealthJson[];
  readonly reason: string;
  readonly answeredBy: string;
  readonly term: number;
  readonly preferredLeader: string | null;
  readonly preferredLeaderNote: string;
}

export interface PreferredLeaderNote {
  readonly id: string | null;
  readonly note: string;
}

export function reportToWire(report: ClusterHealthReport, answeredBy: string, preferred: PreferredLeaderNote): HealthResponseMsg {
  return {
    healthy: report.healthy,
    leader: report.leader,
    failureTolerance: report.failureTolerance,
    members: report.members.map((m) => ({
      id: m.id,
      healthy: m.healthy,
      voter: m.voter,
      stableSince: new Date(m.stableSince).toISOString(),
      hasLastContact: m.lastContactMs !== null,
      lastContactMs: Math.round(m.lastContactMs ?? 0),
      hasTerm: m.term !== null,
      term: m.term ?? 0,
      hasLag: true,
      lagEntries: m.lagEntries,
      online: m.online,
      reason: describeMember(m),
      duplicateProcess: m.notes.some((n) => n.kind === 'duplicate'),
    })),
    reason: report.reason,
    answeredBy,
    term: report.term,
    preferredLeader: preferred.id ?? '',
    preferredLeaderNote: preferred.note,
  };
}

/** The answer of a node that knows no leader (or cannot reach it): nobody judged the members. */
export function withoutLeaderWire(
  answeredBy: string,
  term: number,
  members: readonly { readonly id: string; readonly voter: boolean }[],
  reason: string,
  preferred: PreferredLeaderNote,
): HealthResponseMsg {
  return {
    healthy: false,
    leader: '',
    failureTolerance: 0,
    members: members.map((m) => ({
      id: m.id,
      healthy: false,
      voter: m.voter,
      stableSince: '',
      hasLastContact: false,
      lastContactMs: 0,
      hasTerm: false,
      term: 0,
      hasLag: false,
      lagEntries: 0,
      online: false,
      reason: 'not judged: health is judged in the leader\'s view',
      duplicateProcess: false,
    })),
    reason,
    answeredBy,
    term,
    preferredLeader: preferred.id ?? '',
    preferredLeaderNote: preferred.note,
  };
}

function answer(raw: unknown, message: string): Fields {
  return Fields.of(raw, message, (text) => new ApiError('INTERNAL', `unexpected answer from the server: ${text}`));
}

function decodeMember(raw: unknown): MemberHealthJson {
  const f = answer(raw, 'MemberHealth');
  const stableSince = f.string('stableSince');
  return {
    id: f.string('id'),
    healthy: f.boolean('healthy'),
    voter: f.boolean('voter'),
    stableSince: stableSince === '' ? null : stableSince,
    lastContactMs: f.boolean('hasLastContact') ? f.number('lastContactMs') : null,
    term: f.boolean('hasTerm') ? f.number('term') : null,
    lagEntries: f.boolean('hasLag') ? f.number('lagEntries') : null,
    online: f.boolean('online'),
    reason: f.string('reason'),
    // Absent from servers older than the field: they saw no duplicate to report as one.
    duplicateProcess: f.has('duplicateProcess') && f.boolean('duplicateProcess'),
  };
}

export function decodeHealth(raw: unknown): HealthJson {
  const f = answer(raw, 'HealthResponse');
  const leader = f.string('leader');
  const preferred = f.string('preferredLeader');
  return {
    healthy: f.boolean('healthy'),
    leader: leader === '' ? null : leader,
    failureTolerance: f.number('failureTolerance'),
    members: f.array('members').map(decodeMember),
    reason: f.string('reason'),
    answeredBy: f.string('answeredBy'),
    term: f.number('term'),
    preferredLeader: preferred === '' ? null : preferred,
    preferredLeaderNote: f.string('preferredLeaderNote'),
  };
}
