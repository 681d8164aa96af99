/**
 * Rules that relate several settings to each other and to the cluster's members. They are
 * checked where a value is chosen (the bootstrapping file, `ctl config set` on the leader), never
 * inside apply, which must accept what was committed.
 */
import type { ClusterSettings } from './keys.js';

/** Votes needed for a quorum of `voters`. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export interface SettingProblem {
  readonly key: keyof ClusterSettings;
  readonly reason: string;
}

/** What is wrong with `s` for a cluster of `voters` voters; empty when nothing is. */
export function settingsProblems(s: ClusterSettings, voters: number): SettingProblem[] {
  const problems: SettingProblem[] = [];
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
