/**
 * How long a node that hears a quorum may go without hearing a leader before it says so. An
 * ordinary election ends well within a few election timeouts; longer, the node is on the far
 * side of a partial partition: the cluster elects and commits without it, so what it applied is
 * the past. One rule for requests (quorum-guard.ts: refused, so the client moves on), agents
 * (hub.ts: their streams closed, so they move) and answers (membership-engine.ts: `list
 * controllers`, `list agents` and `status` say stale, so ctl asks another endpoint).
 */

/** Elections (in election timeouts) a node may spend without a leader before it says so. */
export const LEADERLESS_ELECTIONS = 3;

export interface LeaderSilence {
  readonly self: string;
  /** Monotonic ms. */
  readonly now: number;
  /** When the node began to listen: it cannot have heard a leader before. */
  readonly since: number;
  /** The last message from a leader; null: none since `since`. */
  readonly lastLeaderContactAt: number | null;
  readonly electionTimeoutMs: number;
}

/** Why the node has been leaderless beyond an ordinary election; null while it has not. */
export function leaderlessReason(s: LeaderSilence): string | null {
  const from = Math.max(s.since, s.lastLeaderContactAt ?? s.since);
  const leaderless = s.now - from;
  if (!(leaderless > LEADERLESS_ELECTIONS * s.electionTimeoutMs)) return null;
  // Not always a partition: members restarted one after another under load took 3.4 s to elect
  // one once a quorum was up again, and this said "partial partition" meanwhile (ops55).
  return `${s.self} has had no leader for ${Math.round(leaderless)}ms (election timeout ${s.electionTimeoutMs}ms) although it hears a quorum: it is on the far side of a partial partition, or the voters it hears have not elected one yet (members just restarted)`;
}
