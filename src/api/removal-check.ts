/**
 * Whether removing a voter leaves a cluster that can still commit: etcd's strict reconfiguration
 * check. The voters left must include a quorum of themselves that the leader hears now, or the
 * removal itself commits and then nothing else can (say c3 is down and c2 is removed: c1 and c3
 * are left, and c3 does not answer). The last voter cannot be removed at all. A learner's
 * removal changes no quorum and is not judged.
 */
import { quorumOf } from '../settings/index.js';

/** Why `id` may not be removed from `voters`; null when it may. `live(v)`: the leader hears voter v now. */
export function removalProblem(id: string, voters: readonly string[], live: (voter: string) => boolean): string | null {
  if (!voters.includes(id)) return null;
  const left = voters.filter((v) => v !== id);
  if (left.length === 0) return `${id} is the last voter; a cluster needs one (to retire it, back it up with \`ctl snapshot save\` and stop it)`;
  const reachable = left.filter(live);
  const needed = quorumOf(left.length);
  if (reachable.length >= needed) return null;
  const silent = left.filter((v) => !live(v));
  return (
    `removing ${id} would leave voters ${left.join(', ')}, of which the leader hears only ${reachable.join(', ') || 'none'} ` +
    `(${silent.join(', ')} silent for an election timeout); a quorum of them is ${needed}, so nothing could commit after it. ` +
    `Bring ${silent.join(', ')} back first, or remove a member that is down`
  );
}
