/**
 * Dead-member cleanup (opt-in `autopilot.cleanup_dead_servers`; Consul autopilot's
 * CleanupDeadServers): the leader removes a voter that has been offline longer than
 * `autopilot.dead_server_threshold`, one at a time, and only within limits:
 *
 * - the voters left keep at least `autopilot.min_quorum`;
 * - the configuration tolerates a failure at all (three voters or more: Consul's cap of
 *   (voters - 1) / 2 removals, so a majority is never removed);
 * - the voters left keep a quorum of healthy voters (a cluster that would be left without a
 *   healthy quorum is an outage to repair, not to prune);
 * - no membership change is in flight.
 *
 * "Offline since" is the committed status record's: the deciding leader's clock when it
 * observed the member go offline, kept across leader changes (a 24 h threshold outlives
 * leaders). That is a wall-clock time, and a wall clock can be stepped: so the time offline is
 * the shorter of the wall-clock time since then and how long this leader has itself seen the
 * record offline by its monotonic clock (offline-sightings.ts). A step can then only delay a
 * removal, never hasten it. The leader's own view must agree at the time of removal: the member
 * is neither online nor healthy now.
 *
 * Deterministic: the members, the settings and the time come in; at most one removal, with
 * its reason for the audit trail, and a verdict on every voter come out.
 */
import { quorumOf } from '../settings/checks.js';

export interface CleanupSettings {
  readonly enabled: boolean;
  readonly deadServerThresholdMs: number;
  readonly minQuorum: number;
}

export interface CleanupMember {
  readonly id: string;
  readonly voter: boolean;
  /** In the leader's view now (health.ts). */
  readonly healthy: boolean;
  /** The reconciled status in the leader's view now. */
  readonly online: boolean;
  /** ms since the epoch the committed record went offline; null: its committed status is online or undecided. */
  readonly offlineSince: number | null;
  /**
   * How long this leader has seen that offline record, by its monotonic clock
   * (offline-sightings.ts); null: not seen yet (the member waits).
   */
  readonly seenOfflineForMs: number | null;
}

export interface CleanupInput {
  /** ms since the epoch (compared with the committed offline-since). */
  readonly wallClockMs: number;
  readonly self: string;
  readonly members: readonly CleanupMember[];
  readonly settings: CleanupSettings;
  readonly changeInFlight: boolean;
}

export type CleanupVerdict =
  | { readonly id: string; readonly verdict: 'alive' }
  | {
      readonly id: string;
      readonly verdict: 'waiting';
      readonly offlineForMs: number;
      readonly remainingMs: number;
      /** Present when the wall clock alone says it is past the threshold (how long, by the wall clock). */
      readonly byWallClockMs?: number;
    }
  | { readonly id: string; readonly verdict: 'dead'; readonly offlineForMs: number };

export interface CleanupDecision {
  /** The voter to remove now, with the reason the audit trail records; null: none. */
  readonly remove: { readonly id: string; readonly reason: string } | null;
  /** Why a dead voter is kept (a limit holds it); null when none is, or none is dead. */
  readonly held: string | null;
  /** One verdict per voter other than the leader, in id order. */
  readonly voters: readonly CleanupVerdict[];
}

const NOTHING: CleanupDecision = { remove: null, held: null, voters: [] };

/** A duration as the audit reason writes it: `2.0h`, `1.5m`, `12.0s`. */
export function durationText(ms: number): string {
  return ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)}h` : ms >= 60_000 ? `${(ms / 60_000).toFixed(1)}m` : `${(ms / 1000).toFixed(1)}s`;
}

function verdictOf(m: CleanupMember, input: CleanupInput): CleanupVerdict {
  // A member the leader sees online or healthy now is alive, whatever the record says.
  if (m.online || m.healthy || m.offlineSince === null) return { id: m.id, verdict: 'alive' };
  const byWallClockMs = Math.max(0, input.wallClockMs - m.offlineSince);
  const offlineForMs = Math.min(byWallClockMs, m.seenOfflineForMs ?? 0);
  const threshold = input.settings.deadServerThresholdMs;
  if (offlineForMs < threshold) {
    const waiting = { id: m.id, verdict: 'waiting', offlineForMs, remainingMs: threshold - offlineForMs } as const;
    // The wall clock alone would have removed it: a step, or a leader that has not watched long.
    return byWallClockMs >= threshold ? { ...waiting, byWallClockMs } : waiting;
  }
  return { id: m.id, verdict: 'dead', offlineForMs };
}

export function decideCleanup(input: CleanupInput): CleanupDecision {
  const { settings } = input;
  if (!settings.enabled) return NOTHING;
  const voters = input.members.filter((m) => m.voter);
  const verdicts = voters
    .filter((m) => m.id !== input.self)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((m) => verdictOf(m, input));
  // The one offline longest first; ids break ties, so every run decides alike.
  let dead: Extract<CleanupVerdict, { verdict: 'dead' }> | null = null;
  for (const v of verdicts) if (v.verdict === 'dead' && (dead === null || v.offlineForMs > dead.offlineForMs)) dead = v;
  if (dead === null) return { remove: null, held: null, voters: verdicts };
  const left = voters.length - 1;
  const healthyLeft = voters.filter((m) => m.healthy && m.id !== dead.id).length;
  let held: string | null = null;
  if (left < settings.minQuorum) {
    held = `removing ${dead.id} would leave ${left} voters, below autopilot.min_quorum ${settings.minQuorum}`;
  } else if (Math.floor((voters.length - 1) / 2) < 1) {
    held = `${voters.length} voters tolerate no failure: removing ${dead.id} would remove half of them`;
  } else if (healthyLeft < quorumOf(left)) {
    held = `removing ${dead.id} would leave ${healthyLeft} healthy of ${left} voters, short of a quorum (${quorumOf(left)})`;
  } else if (input.changeInFlight) {
    held = `a membership change is in flight; ${dead.id} is removed after it`;
  }
  if (held !== null) return { remove: null, held, voters: verdicts };
  const reason =
    `autopilot: offline for ${durationText(dead.offlineForMs)}, longer than autopilot.dead_server_threshold ` +
    `${durationText(settings.deadServerThresholdMs)} (${left} voters left, min_quorum ${settings.minQuorum})`;
  return { remove: { id: dead.id, reason }, held: null, voters: verdicts };
}
