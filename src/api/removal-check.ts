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

/**
 * A removal that may be of the wrong member: `id` answers, other voters are silent, and the
 * voters left would tolerate no further failure (five voters, c5 dead, and c1 removed instead
 * of it). It commits, as etcd's does; the answer says so, with the way back. null otherwise.
 */
export function removalWarning(id: string, voters: readonly string[], live: (voter: string) => boolean): string | null {
  if (!voters.includes(id) || !live(id)) return null;
  const left = voters.filter((v) => v !== id);
  const silent = left.filter((v) => !live(v));
  if (silent.length === 0) return null;
  const spare = left.filter(live).length - quorumOf(left.length);
  if (spare > 0) return null;
  const they = silent.join(', ');
  return (
    `warning: ${id} answered but ${they} ${silent.length === 1 ? 'is' : 'are'} silent for an election timeout, so the voters left (${left.join(', ')}) ` +
    `tolerate no further failure. If ${silent.length === 1 ? they : `one of ${they}`} was the member to remove, remove it too (ctl member remove ${silent[0] ?? ''}), ` +
    `then add ${id} back as a new member: empty its data dir, ctl member add ${id} ADDRESS, and start it with --join`
  );
}
