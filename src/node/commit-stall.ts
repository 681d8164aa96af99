/**
 * When a leader's stalled commit index makes it unhealthy. A leader commits an entry within a
 * round trip; one that holds uncommitted entries for two election timeouts without its commit
 * index moving is stuck (an entry no follower accepts, a lost quorum it has not noticed), and
 * `ctl health` and the metrics say so.
 */
export function commitStallLimitMs(electionTimeoutMs: number): number {
  return 2 * electionTimeoutMs;
}
