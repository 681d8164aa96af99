/**
 * A member started with other raft timing than its peers. `raft.election_timeout` and
 * `raft.heartbeat_interval` are each member's own keys, and nothing said so when one member's
 * file was changed and it restarted (ops55): Raft assumes one timing. A follower campaigns when it
 * hears no heartbeat within its own election timeout, so a leader whose heartbeat interval comes
 * near a follower's election timeout is deposed on a late heartbeat; and how long a crashed
 * leader goes unreplaced depends on which member's timeout runs out first. The peers say theirs
 * in their answers to the start-up question (Hello); the member that differs warns at start.
 */
import { formatDuration } from '../config/duration.js';

export const RAFT_TIMING_MISMATCH = 'RAFT_TIMING_MISMATCH';

export interface RaftTiming {
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

/** What a peer said of its timing; absent when it did not answer or is of an older version. */
export interface PeerTiming {
  readonly peer: string;
  readonly timing?: RaftTiming;
}

function describe(t: RaftTiming): string {
  return `election_timeout ${formatDuration(t.electionTimeoutMs)}, heartbeat_interval ${formatDuration(t.heartbeatIntervalMs)}`;
}

/** The warning when some peer's timing differs from `own`; null when every peer that said its own agrees. */
export function raftTimingMismatch(file: string, own: RaftTiming, peers: readonly PeerTiming[]): { readonly peers: string[]; readonly message: string } | null {
  const groups = new Map<string, string[]>();
  for (const { peer, timing } of peers) {
    if (timing === undefined) continue;
    if (timing.electionTimeoutMs === own.electionTimeoutMs && timing.heartbeatIntervalMs === own.heartbeatIntervalMs) continue;
    const key = describe(timing);
    groups.set(key, [...(groups.get(key) ?? []), peer]);
  }
  if (groups.size === 0) return null;
  const theirs = [...groups].map(([timing, ids]) => `${ids.join(', ')} ${ids.length === 1 ? 'has' : 'have'} ${timing}`).join('; ');
  return {
    peers: [...groups.values()].flat(),
    message:
      `${file}: raft.* timing differs from the peers': this member has ${describe(own)}; ${theirs}. ` +
      "Each member runs with its own file's values, and Raft assumes one timing: a follower campaigns when it hears no heartbeat within its own election timeout " +
      "(a leader whose heartbeat_interval nears a follower's election_timeout is deposed by a late heartbeat), and failover takes as long as the timeouts of the members that campaign. " +
      'Set raft.election_timeout and raft.heartbeat_interval alike in every member\'s file (restart the members one at a time)',
  };
}
