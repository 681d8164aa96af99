/**
 * The leader's part in the mesh: it proposes what no single agent's controller can.
 *
 * - Endpoint health: an agent the health layer has offline (its committed agents record) has its
 *   endpoints marked unhealthy, not removed, and healthy again when it is back. The leader
 *   compares every endpoint with its agent's record whenever either changed, and asks the mesh
 *   kind to re-read the records of those that disagree (apply reads the record at that entry, so
 *   a late check can never write an old verdict). An agent whose endpoints flap is held
 *   unhealthy for a while (endpoint-damping.ts), so its flaps cost the fleet no pushes.
 * - Expiry: when the earliest observed dependency is due (unused for one TTL: expiring; two:
 *   expired), the leader asks the mesh kind to judge the ages at its clock.
 * - Forgotten agents: an agent with a declaration or endpoints but no record in the agents kind
 *   has both removed. The hub asks at once when it sees a record forgotten; this sweep catches
 *   what a leader change lost, for agents without a record for ORPHAN_GRACE_MS (a usage report
 *   may briefly commit before its agent's claim). Apply checks the record again.
 * - Unlisted services (cluster version SERVICE_OWNERSHIP_VERSION): a service agents published
 *   that no agent lists as hosted any more (each dropped it from its agent.yaml, or was forgotten)
 *   and no route names is expired once the sweep has seen it so for UNLISTED_SERVICE_GRACE_MS on
 *   this leader's clock; its VIP goes into the quarantine. The grace is the leader's, not the
 *   log's: a new leader starts it afresh (an expiry comes later, never sooner), and apply checks
 *   again that the service is still unlisted at its entry, so the decision is the log's. An agent
 *   offline keeps its declaration (until it is forgotten), so reconnects and rolling restarts never
 *   make a service unlisted, and one listed again within the grace keeps its VIP.
 *
 * Everything it reads is replicated, so a new leader picks up exactly where the old one was.
 */
import { FORGET_AGENTS_VERSION, SERVICE_OWNERSHIP_VERSION, keptByFor, shareRuleOf } from '../statemachine/index.js';
import { dampingMessage, EndpointDamping } from './endpoint-damping.js';
import type { HubEffect } from './hub-types.js';
import type { MeshReportQueue } from './mesh-reports.js';
import type { ClusterState } from './selection.js';
import { log } from './session.js';

/** How long a declaration goes without an agent's record before the sweep forgets it. */
export const ORPHAN_GRACE_MS = 60_000;
const ORPHAN_SWEEP_MS = 10_000;
/**
 * How long an agents' service stays unlisted before it is expired: long enough for a rolling
 * change of agent.yaml to move a service from one agent to another, short next to the VIP range
 * one agent certificate could otherwise fill for good.
 */
export const UNLISTED_SERVICE_GRACE_MS = 10 * 60_000;

export class LeaderDuties {
  /** The state last compared for health: nothing to compare until it changes. */
  private seen = '';
  /** Agents with a declaration and no record, and when the sweep first saw them so. */
  private readonly orphans = new Map<string, number>();
  private lastSweepAt = Number.NEGATIVE_INFINITY;
  /** Agents' services unlisted, and when the sweep first saw them so (this leader's clock). */
  private readonly unlisted = new Map<string, number>();
  readonly damping = new EndpointDamping();

  constructor(private readonly unlistedGraceMs = UNLISTED_SERVICE_GRACE_MS) {}

  check(state: ClusterState, wallNow: number, queue: MeshReportQueue, now: number, out: HubEffect[]): void {
    const stamp = `${state.revision}/${state.agents.transitionSeq}/${state.mesh.transitionSeq}`;
    if (stamp !== this.seen || this.damping.releaseDue(now)) {
      this.seen = stamp;
      this.compareHealth(state, queue, now, out);
      this.relisted(state);
    }
    if (now - this.lastSweepAt >= ORPHAN_SWEEP_MS && state.cluster.supports(FORGET_AGENTS_VERSION)) {
      this.lastSweepAt = now;
      this.sweepOrphans(state, queue, now);
      if (state.cluster.supports(SERVICE_OWNERSHIP_VERSION)) this.sweepUnlisted(state, queue, now);
    }
    const due = state.mesh.nextExpiryAt(state.settings.get('agents.dependency_ttl'));
    // Log time is the largest stamp so far: a leader whose clock is behind waits for it.
    if (due !== null && due <= Math.max(wallNow, state.mesh.clock) && !queue.expiryPending) queue.requestExpiry();
  }

  /** No longer leading: a new term compares everything afresh. */
  forget(): void {
    this.seen = '';
    this.damping.clear();
    this.orphans.clear();
    this.unlisted.clear();
    this.lastSweepAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * A service listed again is no longer unlisted: looked at whenever the state changes (every
   * 250 ms at most), not only at the sweep, or one listed again and dropped between two sweeps
   * would be expired at the second, its grace counted from before it was listed.
   */
  private relisted(state: ClusterState): void {
    const keptBy = keptByFor(shareRuleOf(state.cluster));
    for (const name of this.unlisted.keys()) if (!state.mesh.unlisted(name, keptBy)) this.unlisted.delete(name);
  }

  private sweepUnlisted(state: ClusterState, queue: MeshReportQueue, now: number): void {
    const current = new Set(state.mesh.unlistedPublished(keptByFor(shareRuleOf(state.cluster))));
    for (const name of current) {
      const since = this.unlisted.get(name) ?? now;
      this.unlisted.set(name, since);
      if (now - since >= this.unlistedGraceMs && !queue.serviceExpiryPending(name)) queue.expireService(name);
    }
    for (const name of this.unlisted.keys()) if (!current.has(name)) this.unlisted.delete(name);
  }

  /** Every endpoint against its agent's record; those that disagree are re-read, unless their agent is held. */
  private compareHealth(state: ClusterState, queue: MeshReportQueue, now: number, out: HubEffect[]): void {
    for (const agent of state.mesh.endpointAgents()) {
      const online = state.agents.get(agent)?.online === true;
      let disagree = false;
      for (const healthy of state.mesh.endpointsOf(agent).values()) {
        if (healthy === online) continue;
        disagree = true;
        break;
      }
      const verdict = this.damping.look(agent, online, disagree, now);
      if (verdict.note !== null) {
        const services = [...state.mesh.endpointsOf(agent).keys()].sort();
        out.push(log(verdict.note.type === 'held' ? 'warn' : 'info', dampingMessage(verdict.note), { agent, services: services.slice(0, 10), serviceCount: services.length }));
      }
      if (verdict.ask && !queue.healthPending(agent)) queue.checkHealth(agent);
    }
    this.damping.prune((agent) => state.mesh.endpointsOf(agent).size > 0, now);
  }

  private sweepOrphans(state: ClusterState, queue: MeshReportQueue, now: number): void {
    const current = new Set<string>();
    for (const agent of [...state.mesh.declaredAgents(), ...state.mesh.endpointAgents()]) {
      if (current.has(agent) || state.agents.get(agent) !== null) continue;
      current.add(agent);
      const since = this.orphans.get(agent) ?? now;
      this.orphans.set(agent, since);
      if (now - since >= ORPHAN_GRACE_MS && !queue.forgetPending(agent)) queue.forget(agent);
    }
    for (const agent of this.orphans.keys()) if (!current.has(agent)) this.orphans.delete(agent);
  }
}

/** How often uses of observed dependencies are reported: a quarter of the TTL, within [250 ms, 30 s]. */
export function usageFlushMs(ttlMs: number): number {
  return Math.min(30_000, Math.max(250, Math.floor(ttlMs / 4)));
}
