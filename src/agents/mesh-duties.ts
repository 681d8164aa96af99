/**
 * The leader's part in the mesh: it proposes what no single agent's controller can.
 *
 * - Endpoint health: an agent the health layer has offline (its committed agents record) has its
 *   endpoints marked unhealthy, not removed, and healthy again when it is back. The leader
 *   compares every endpoint with its agent's record whenever either changed, and asks the mesh
 *   kind to re-read the records of those that disagree (apply reads the record at that entry, so
 *   a late check can never write an old verdict).
 * - Expiry: when the earliest observed dependency is due (unused for one TTL: expiring; two:
 *   expired), the leader asks the mesh kind to judge the ages at its clock.
 *
 * Everything it reads is replicated, so a new leader picks up exactly where the old one was.
 */
import type { MeshReportQueue } from './mesh-reports.js';
import type { ClusterState } from './selection.js';

export class LeaderDuties {
  /** The state last compared for health: nothing to compare until it changes. */
  private seen = '';

  check(state: ClusterState, wallNow: number, queue: MeshReportQueue): void {
    const stamp = `${state.revision}/${state.agents.transitionSeq}/${state.mesh.transitionSeq}`;
    if (stamp !== this.seen) {
      this.seen = stamp;
      for (const agent of state.mesh.endpointAgents()) {
        if (queue.healthPending(agent)) continue;
        const online = state.agents.get(agent)?.online === true;
        for (const healthy of state.mesh.endpointsOf(agent).values()) {
          if (healthy === online) continue;
          queue.checkHealth(agent);
          break;
        }
      }
    }
    const due = state.mesh.nextExpiryAt(state.settings.get('agents.dependency_ttl'));
    // Log time is the largest stamp so far: a leader whose clock is behind waits for it.
    if (due !== null && due <= Math.max(wallNow, state.mesh.clock) && !queue.expiryPending) queue.requestExpiry();
  }

  /** No longer leading: a new term compares everything afresh. */
  forget(): void {
    this.seen = '';
  }
}

/** How often uses of observed dependencies are reported: a quarter of the TTL, within [250 ms, 30 s]. */
export function usageFlushMs(ttlMs: number): number {
  return Math.min(30_000, Math.max(250, Math.floor(ttlMs / 4)));
}
