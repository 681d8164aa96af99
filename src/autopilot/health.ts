/**
 * Health in depth, judged from the leader's view (Consul autopilot's rule). A member is healthy
 * when the leader sees it online, has heard from it within `autopilot.last_contact_threshold`,
 * it answered on the leader's term, and its log is at most `autopilot.max_trailing_logs`
 * entries behind the leader's. The cluster is healthy with a leader, a quorum of healthy voters
 * and a commit index that moves while entries wait; its failure tolerance is how many healthy
 * voters could fail with a quorum left.
 *
 * Deterministic: the leader's observations, the settings and the time come in; the report and
 * the next state (since when each member's health has been what it is) come out. A new leader
 * starts every member's stable-since afresh: it is the leader's own observation.
 */
import type { DuplicateMark } from '../identity/duplicate-marks.js';
import { quorumOf } from '../settings/checks.js';
import { describeNote, memberNotes, type HealthNote } from './health-notes.js';

export interface HealthSettings {
  readonly lastContactThresholdMs: number;
  readonly maxTrailingLogs: number;
}

/** What the leader knows of one member. */
export interface MemberObservation {
  readonly id: string;
  readonly voter: boolean;
  /** The reconciled status (`online` of `list controllers`) in the leader's view. */
  readonly online: boolean;
  /** Monotonic ms the leader last heard from it (a Raft message); null: never. Ignored for the leader itself. */
  readonly lastContactAt: number | null;
  /** The term it last answered the leader in; null: it has not answered. Ignored for the leader itself. */
  readonly term: number | null;
  /** The highest index known to match the leader's log. Ignored for the leader itself. */
  readonly match: number;
  /** Two processes speak as it, as the leader saw (health-notes.ts); absent or null: none seen. */
  readonly duplicate?: DuplicateMark | null;
}

export interface HealthInput {
  /** Monotonic ms. */
  readonly now: number;
  /** ms since the epoch: only for the stable-since people read. */
  readonly wallClockMs: number;
  readonly leader: { readonly id: string; readonly term: number; readonly lastIndex: number; readonly commit: number };
  readonly members: readonly MemberObservation[];
  readonly settings: HealthSettings;
  /** How long the leader has held entries without its commit index moving (0: none), and the limit past which it is stuck. */
  readonly commitStall: { readonly stalledMs: number; readonly limitMs: number };
  /** Why the leader refuses every write that grows the state (a voter's disk below its floor: src/api/disk-floor.ts); absent or null: it does not. */
  readonly writesRefused?: string | null;
}

/** Why a member is not healthy; several may hold at once. */
export type HealthProblem =
  | { readonly kind: 'offline' }
  | { readonly kind: 'silent'; readonly lastContactMs: number | null; readonly thresholdMs: number }
  | { readonly kind: 'term'; readonly term: number | null; readonly leaderTerm: number }
  | { readonly kind: 'behind'; readonly entries: number; readonly maxTrailingLogs: number };

export interface MemberHealth {
  readonly id: string;
  readonly voter: boolean;
  readonly healthy: boolean;
  readonly online: boolean;
  /** Since the leader last heard from it (0 for the leader); null: never. */
  readonly lastContactMs: number | null;
  readonly term: number | null;
  readonly lagEntries: number;
  /** ms since the epoch since when `healthy` has had its value, as this leader saw it. */
  readonly stableSince: number;
  /** Monotonic ms of the same instant, for stabilization rules. */
  readonly stableSinceMono: number;
  readonly problems: readonly HealthProblem[];
  /** What explains the row without changing the verdict (health-notes.ts). */
  readonly notes: readonly HealthNote[];
}

export interface ClusterHealthReport {
  readonly healthy: boolean;
  readonly leader: string;
  readonly term: number;
  readonly voters: number;
  readonly healthyVoters: number;
  readonly quorum: number;
  readonly failureTolerance: number;
  /** In id order. */
  readonly members: readonly MemberHealth[];
  /** Why the cluster is unhealthy; '' when it is healthy. */
  readonly reason: string;
}

interface Stability {
  readonly healthy: boolean;
  readonly mono: number;
  readonly wall: number;
}

/** Since when each member's health has had its current value. */
export interface HealthState {
  readonly since: ReadonlyMap<string, Stability>;
}

export const INITIAL_HEALTH_STATE: HealthState = { since: new Map() };

/** How the leader last heard from a member: the part of the rule that is not about its log. */
export type ContactObservation = Pick<MemberObservation, 'online' | 'lastContactAt' | 'term'>;

/**
 * The offline, silent and term problems of a member other than the leader. The promoter
 * (promoter.ts) judges learners by these, with its own rule for how far behind one may be.
 */
export function contactProblems(m: ContactObservation, at: { readonly now: number; readonly leaderTerm: number; readonly lastContactThresholdMs: number }): HealthProblem[] {
  const problems: HealthProblem[] = [];
  if (!m.online) problems.push({ kind: 'offline' });
  const lastContactMs = m.lastContactAt === null ? null : Math.max(0, at.now - m.lastContactAt);
  if (lastContactMs === null || lastContactMs > at.lastContactThresholdMs) {
    problems.push({ kind: 'silent', lastContactMs, thresholdMs: at.lastContactThresholdMs });
  }
  if (m.term !== at.leaderTerm) problems.push({ kind: 'term', term: m.term, leaderTerm: at.leaderTerm });
  return problems;
}

/** What is wrong with one member in the leader's view; empty when it is healthy. */
export function memberProblems(m: MemberObservation, input: HealthInput): HealthProblem[] {
  if (m.id === input.leader.id) return [];
  const { settings, leader, now } = input;
  const problems = contactProblems(m, { now, leaderTerm: leader.term, lastContactThresholdMs: settings.lastContactThresholdMs });
  const entries = Math.max(0, leader.lastIndex - m.match);
  if (entries > settings.maxTrailingLogs) problems.push({ kind: 'behind', entries, maxTrailingLogs: settings.maxTrailingLogs });
  return problems;
}

export function describeProblem(p: HealthProblem): string {
  switch (p.kind) {
    case 'offline':
      return 'offline';
    case 'silent':
      return p.lastContactMs === null
        ? 'never heard from by the leader'
        : `last heard from ${Math.round(p.lastContactMs)}ms ago (threshold ${p.thresholdMs}ms)`;
    case 'term':
      return p.term === null ? `has not answered in the leader's term ${p.leaderTerm}` : `on term ${p.term}, the leader's is ${p.leaderTerm}`;
    case 'behind':
      return `${p.entries} entries behind (at most ${p.maxTrailingLogs})`;
    default: {
      const never: never = p;
      return never;
    }
  }
}

/** A member's problems, then its notes, as the reason people read. */
export function describeMember(m: Pick<MemberHealth, 'id' | 'problems' | 'notes'>): string {
  return [...m.problems.map(describeProblem), ...m.notes.map((n) => describeNote(m.id, n))].join(', ');
}

/** Healthy voters that could fail with a quorum of the voters left. */
export function failureTolerance(voters: number, healthyVoters: number): number {
  return Math.max(0, healthyVoters - quorumOf(voters));
}

function byId<T extends { readonly id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function assessHealth(state: HealthState, input: HealthInput): { state: HealthState; report: ClusterHealthReport } {
  const { now, wallClockMs, leader } = input;
  const since = new Map<string, Stability>();
  const members: MemberHealth[] = [];
  for (const m of [...input.members].sort(byId)) {
    const self = m.id === leader.id;
    const problems = memberProblems(m, input);
    const silent = problems.find((p) => p.kind === 'silent');
    const notes = self ? [] : memberNotes({ id: m.id, online: m.online, duplicate: m.duplicate ?? null }, silent ?? null);
    const healthy = problems.length === 0;
    const before = state.since.get(m.id);
    const stability = before !== undefined && before.healthy === healthy ? before : { healthy, mono: now, wall: wallClockMs };
    since.set(m.id, stability);
    members.push({
      id: m.id,
      voter: m.voter,
      healthy,
      online: self || m.online,
      lastContactMs: self ? 0 : m.lastContactAt === null ? null : Math.max(0, now - m.lastContactAt),
      term: self ? leader.term : m.term,
      lagEntries: self ? 0 : Math.max(0, leader.lastIndex - m.match),
      stableSince: stability.wall,
      stableSinceMono: stability.mono,
      problems,
      notes,
    });
  }
  const voters = members.filter((m) => m.voter);
  const healthyVoters = voters.filter((m) => m.healthy).length;
  const quorum = quorumOf(voters.length);
  const reasons: string[] = [];
  if (voters.length === 0) reasons.push('no voters in the configuration');
  else if (healthyVoters < quorum) {
    const unhealthy = voters.filter((m) => !m.healthy).map((m) => `${m.id}: ${describeMember(m)}`);
    reasons.push(`no quorum of healthy voters: ${healthyVoters} of ${voters.length}, need ${quorum} (${unhealthy.join('; ')})`);
  }
  if (input.commitStall.stalledMs >= input.commitStall.limitMs) {
    reasons.push(
      `leader ${leader.id}'s commit index (${leader.commit}) has not moved for ${Math.round(input.commitStall.stalledMs)}ms while entries up to ${leader.lastIndex} wait`,
    );
  }
  if (input.writesRefused !== undefined && input.writesRefused !== null) reasons.push(input.writesRefused);
  return {
    state: { since },
    report: {
      healthy: reasons.length === 0,
      leader: leader.id,
      term: leader.term,
      voters: voters.length,
      healthyVoters,
      quorum,
      failureTolerance: failureTolerance(voters.length, healthyVoters),
      members,
      reason: reasons.join('; '),
    },
  };
}
