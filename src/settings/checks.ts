/**
 * Rules that relate several settings to each other and to the cluster's members. They are
 * checked where a value is chosen (the bootstrapping file, `ctl config set` on the leader), never
 * inside apply, which must accept what was committed.
 */
import { formatDuration } from '../config/duration.js';
import type { ClusterSettings } from './keys.js';

/** Votes needed for a quorum of `voters`. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export interface SettingProblem {
  readonly key: keyof ClusterSettings;
  readonly reason: string;
}

/** What the rules compare settings with: the cluster's size and the deciding node's Raft timing. */
export interface SettingsContext {
  readonly voters: number;
  /** raft.heartbeat_interval of the node that judges health (the leader; at start, the file's). */
  readonly heartbeatIntervalMs: number;
}

/**
 * The shortest autopilot.last_contact_threshold a healthy follower meets. The leader hears from
 * a follower about once per heartbeat interval (its answer to the heartbeat), so a threshold at
 * or below one interval calls every follower silent. Two intervals is Consul's ratio (its
 * LastContactThreshold of 200ms over a 100ms leader heartbeat): silent after a missed heartbeat.
 */
export function lastContactFloorMs(heartbeatIntervalMs: number): number {
  return 2 * heartbeatIntervalMs;
}

/** What is wrong with `s` in `ctx`; empty when nothing is. */
export function settingsProblems(s: ClusterSettings, ctx: SettingsContext): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const { voters, heartbeatIntervalMs } = ctx;
  const threshold = s['autopilot.last_contact_threshold'];
  const floor = lastContactFloorMs(heartbeatIntervalMs);
  if (threshold < floor) {
    problems.push({
      key: 'autopilot.last_contact_threshold',
      reason:
        `${formatDuration(threshold)} must be at least 2 x raft.heartbeat_interval (${formatDuration(heartbeatIntervalMs)}) = ` +
        `${formatDuration(floor)}: the leader hears from a healthy follower about once per heartbeat interval, ` +
        'so a shorter threshold calls every follower unhealthy',
    });
  }
  const quorum = quorumOf(voters);
  if (s['autopilot.cleanup_dead_servers'] && s['autopilot.min_quorum'] < quorum) {
    problems.push({
      key: 'autopilot.min_quorum',
      reason:
        `with cleanup_dead_servers on, min_quorum ${s['autopilot.min_quorum']} would let cleanup shrink ` +
        `the ${voters} voters below a quorum of them (${quorum}); set min_quorum to at least ${quorum}`,
    });
  }
  return problems;
}

/**
 * Why `preferred` cannot be the preferred leader among `members` (`what` says what they are:
 * "a member", "one of cluster.nodes"); null when it can. A leader would never find it to hand
 * leadership to, so the setting would do nothing while looking set.
 */
export function preferredLeaderProblem(preferred: string | null, members: readonly string[], what: string): string | null {
  if (preferred === null || members.includes(preferred)) return null;
  return `${preferred} is not ${what}; it could be ${[...members].sort().join(', ')} or none`;
}
