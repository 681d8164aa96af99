/**
 * The preferred leader (`cluster.preferred_leader`, OpenZiti's preferred leader): the leader
 * hands leadership to that member when it is a healthy voter that has every committed entry,
 * with hysteresis so a flapping member never makes leadership ping-pong:
 *
 * - it must have been healthy without a break for `stableForMs` (a flap restarts the clock);
 * - a leader transfers only after leading for `minIntervalMs` itself: every transfer makes a
 *   new leader, so transfers are at least that far apart cluster-wide, whoever leads;
 * - after an attempt that did not take, the leader waits `minIntervalMs` before the next.
 *
 * Deterministic: the leader's view, the settings and the time come in; at most one transfer
 * and a verdict (for logs and `ctl health`) come out.
 */
import type { MemberHealth } from './health.js';

export interface PreferredLeaderSettings {
  /** null: no preferred leader. */
  readonly preferred: string | null;
  readonly stableForMs: number;
  readonly minIntervalMs: number;
}

export interface PreferredLeaderInput {
  /** Monotonic ms. */
  readonly now: number;
  readonly self: string;
  readonly isLeader: boolean;
  /** Monotonic ms since which this node has led; ignored when it does not lead. */
  readonly leaderSince: number;
  readonly commit: number;
  /** The preferred member's health in this leader's view; null when it is not a member. */
  readonly candidate: (Pick<MemberHealth, 'voter' | 'healthy' | 'stableSinceMono'> & { readonly match: number }) | null;
  /** A leadership transfer or a membership change is in progress. */
  readonly busy: boolean;
  readonly settings: PreferredLeaderSettings;
}

export interface PreferredLeaderState {
  /** Monotonic ms of this leader's last transfer attempt; null: none yet. */
  readonly lastAttemptAt: number | null;
}

export const INITIAL_PREFERRED_LEADER_STATE: PreferredLeaderState = { lastAttemptAt: null };

export type PreferredLeaderVerdict =
  | { readonly verdict: 'none' }
  | { readonly verdict: 'not-leader' }
  | { readonly verdict: 'in-place' }
  | { readonly verdict: 'not-member' }
  | { readonly verdict: 'not-voter' }
  | { readonly verdict: 'unhealthy' }
  | { readonly verdict: 'stabilizing'; readonly remainingMs: number }
  | { readonly verdict: 'catching-up'; readonly entries: number }
  | { readonly verdict: 'settling'; readonly remainingMs: number }
  | { readonly verdict: 'busy' }
  | { readonly verdict: 'transfer' };

export interface PreferredLeaderDecision {
  readonly state: PreferredLeaderState;
  /** The member to hand leadership to now, or null. */
  readonly transferTo: string | null;
  readonly verdict: PreferredLeaderVerdict;
}

export function describePreferredLeader(v: PreferredLeaderVerdict, preferred: string | null): string {
  const who = preferred ?? 'the preferred leader';
  switch (v.verdict) {
    case 'none':
      return 'no preferred leader is set';
    case 'not-leader':
      return 'judged by the leader';
    case 'in-place':
      return `${who} leads`;
    case 'not-member':
      return `${who} is not a member`;
    case 'not-voter':
      return `${who} is not a voter`;
    case 'unhealthy':
      return `${who} is not healthy`;
    case 'stabilizing':
      return `${who} is healthy; handing leadership over once it has stayed so for ${Math.ceil(v.remainingMs / 1000)}s more`;
    case 'catching-up':
      return `${who} is ${v.entries} committed entries behind`;
    case 'settling':
      return `the leader waits ${Math.ceil(v.remainingMs / 1000)}s before handing leadership to ${who} (minimum interval between transfers)`;
    case 'busy':
      return 'a leadership transfer or membership change is in progress';
    case 'transfer':
      return `handing leadership to ${who}`;
    default: {
      const never: never = v;
      return never;
    }
  }
}

export function decidePreferredLeader(state: PreferredLeaderState, input: PreferredLeaderInput): PreferredLeaderDecision {
  const keep = (verdict: PreferredLeaderVerdict): PreferredLeaderDecision => ({ state, transferTo: null, verdict });
  // A new leader's clocks start afresh: its own leadership is the interval it waits out.
  if (!input.isLeader) return { state: INITIAL_PREFERRED_LEADER_STATE, transferTo: null, verdict: { verdict: 'not-leader' } };
  const { settings, now, candidate } = input;
  const preferred = settings.preferred;
  if (preferred === null) return keep({ verdict: 'none' });
  if (preferred === input.self) return keep({ verdict: 'in-place' });
  if (candidate === null) return keep({ verdict: 'not-member' });
  if (!candidate.voter) return keep({ verdict: 'not-voter' });
  if (!candidate.healthy) return keep({ verdict: 'unhealthy' });
  const healthyForMs = now - candidate.stableSinceMono;
  if (healthyForMs < settings.stableForMs) return keep({ verdict: 'stabilizing', remainingMs: settings.stableForMs - healthyForMs });
  if (candidate.match < input.commit) return keep({ verdict: 'catching-up', entries: input.commit - candidate.match });
  const ledForMs = now - input.leaderSince;
  const sinceAttemptMs = state.lastAttemptAt === null ? Number.POSITIVE_INFINITY : now - state.lastAttemptAt;
  const waitMs = settings.minIntervalMs - Math.min(ledForMs, sinceAttemptMs);
  if (waitMs > 0) return keep({ verdict: 'settling', remainingMs: waitMs });
  if (input.busy) return keep({ verdict: 'busy' });
  return { state: { lastAttemptAt: now }, transferTo: preferred, verdict: { verdict: 'transfer' } };
}
