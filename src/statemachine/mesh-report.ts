/**
 * A controller's report to the mesh: what its agents publish, the names they resolved, and (from
 * the leader) endpoint health to re-read and observed dependencies to age. One report is one Raft
 * entry and at most one revision, claimed only when something an agent's configuration is made
 * of changed: a service (spec, labels, VIP, endpoints and their health), or an agent's
 * declaration or dependency set. Uses of a dependency and expiring marks change no
 * configuration and claim none.
 *
 * Never refused whole: each entry is applied or ignored on its own (a stale publish, a refused
 * host, a name beyond an agent's bound), and the outcome says how many of each.
 */
import { formatDuration } from '../config/duration.js';
import { agentsKind, MAX_AGENT_RECORDS, type AgentsView } from './agents.js';
import { FORGET_AGENTS_VERSION, REFUSALS_ONCE_VERSION, SERVICE_OWNERSHIP_VERSION, clusterKind } from './cluster-version.js';
import { MAX_OBSERVED, type AgentDeclaration } from './mesh-declarations.js';
import type { MeshReport, PublishEntry, UsageEntry } from './mesh-commands.js';
import { removeServiceEverywhere } from './mesh-operator.js';
import { declaredOnly, planChanges, planPublish, type PublishShares } from './mesh-publish.js';
import { MeshState, vipRange } from './mesh-state.js';
import { keptByFor, shareRuleOf, type ShareRule } from './publisher-shares.js';
import { beyondReason, markRefusals } from './refusal-marks.js';
import { statusOf } from './mesh-types.js';
import type { ApplyContext } from './resource-kind.js';
import { okResult, type ApplyResult } from './result.js';
import { settingsKind, type SettingsView } from './settings.js';

/** The `value` of a report's result. */
export interface MeshReportOutcome {
  /** Publish entries applied (changing something or not). */
  readonly published: number;
  /** Publish entries ignored: their stream no longer holds the agent, or the records are full. */
  readonly stale: number;
  /** Hosted services refused (another spec published, range exhausted, too many endpoints). */
  readonly refused: number;
  /** Observed dependencies added. */
  readonly observed: number;
  /** Observed names ignored: the agent holds MAX_OBSERVED already, or the records are full. */
  readonly dropped: number;
  readonly healthChanged: number;
  readonly expired: number;
  /** Agents whose declaration or endpoints were dropped because their record is gone. */
  readonly forgotten: number;
  /** Agents' services expired (no agent lists them); present from SERVICE_OWNERSHIP_VERSION. */
  readonly servicesExpired?: number;
}

interface Counts {
  published: number;
  stale: number;
  refused: number;
  observed: number;
  dropped: number;
  healthChanged: number;
  expired: number;
  forgotten: number;
}

export function applyReport(state: MeshState, command: MeshReport, ctx: ApplyContext): ApplyResult {
  let revision: number | null = null;
  const rev = (): number => (revision ??= ctx.bump());
  const agents = ctx.read(agentsKind);
  const settings = ctx.read(settingsKind);
  const n: Counts = { published: 0, stale: 0, refused: 0, observed: 0, dropped: 0, healthChanged: 0, expired: 0, forgotten: 0 };
  const cluster = ctx.read(clusterKind);
  const ownership = cluster.supports(SERVICE_OWNERSHIP_VERSION);
  const rules: PublishRules = { ownership, shares: shareRuleOf(cluster), declaredOnly: declaredOnly(cluster, settings), refusalsOnce: cluster.supports(REFUSALS_ONCE_VERSION) };
  for (const e of command.publish) publish(state, e, agents, settings, rules, rev, n);
  for (const u of command.usage) usage(state, u, rev, n);
  for (const agent of command.health) health(state, agent, agents, rev, n);
  if (command.expire) expire(state, settings.get('agents.dependency_ttl'), rev, n);
  if (command.forget !== undefined && ctx.read(clusterKind).supports(FORGET_AGENTS_VERSION)) {
    for (const agent of command.forget) forget(state, agent, agents, rules, rev, n);
  }
  // Below the level the field is ignored and the outcome is what older members answer (cached alike).
  let servicesExpired = 0;
  if (ownership) for (const name of command.expireServices ?? []) if (expireService(state, name, rules.shares, rev)) servicesExpired++;
  const outcome: MeshReportOutcome = ownership ? { ...n, servicesExpired } : { ...n };
  return okResult(revision ?? ctx.revision, outcome);
}

/**
 * An agent's published service the leader found unlisted for its grace: removed, its VIP
 * quarantined, only if at this entry it is still an agent's, listed by no agent and named by no
 * route (an agent that listed it again meanwhile keeps it, with its VIP).
 */
function expireService(state: MeshState, name: string, rule: ShareRule | null, rev: () => number): boolean {
  if (!state.expirable(name, keptByFor(rule))) return false;
  removeServiceEverywhere(state, name, rev(), 'expired', rule);
  return true;
}

/** The publish rules in force at this entry (cluster version). */
interface PublishRules {
  /** SERVICE_OWNERSHIP_VERSION: an operator's service is the operator's. */
  readonly ownership: boolean;
  /** How an agent's share of MAX_SERVICES_PER_AGENT is counted (publisher-shares.ts); null: not bounded. */
  readonly shares: ShareRule | null;
  /** `services.agent_publish: declared` (DECLARED_PUBLISH_VERSION): agents serve only services an operator applied. */
  readonly declaredOnly: boolean;
  /** REFUSALS_ONCE_VERSION: a refusal is audited only when new for the agent, service and cause (refusal-marks.ts). */
  readonly refusalsOnce: boolean;
}

function publish(state: MeshState, e: PublishEntry, agents: AgentsView, settings: SettingsView, rules: PublishRules, rev: () => number, n: Counts): void {
  const range = vipRange(settings.get('services.vip_cidr'));
  state.allocator.purge(state.clock, settings.get('services.vip_quarantine'));
  const plan = planPublish(e, {
    service: (name) => state.services.get(name) ?? null,
    declaration: (agent) => state.declarations.get(agent),
    endpointServices: (agent) => state.endpointsOf(agent).keys(),
    operatorSpec: (name) => !state.published.has(name),
    claimedSession: (agent) => agents.get(agent)?.session ?? null,
    freeVips: () => state.allocator.free(range),
    roomForRecord: () => state.declarations.size < MAX_AGENT_RECORDS,
    shares: rules.shares === null ? null : sharesAt(state, rules.shares),
    ownership: rules.ownership,
    declaredOnly: rules.declaredOnly,
  });
  if (plan.type !== 'plan') {
    n.stale++;
    return;
  }
  n.published++;
  const d = state.declarations.open(e.agent);
  d.publishWrites++;
  if (planChanges(plan)) d.publishRevisions++;
  // The publish follows the agent's committed claim (the hub waits for it): it is online now,
  // unless the health layer has since said otherwise.
  const healthy = agents.get(e.agent)?.online === true;
  const by = `published by agent ${e.agent}`;
  // Below the level every refusal is audited, as 0.13 members do; from it only the new ones.
  const marked = rules.refusalsOnce ? markRefusals(d.refused, plan.hosts) : null;
  if (marked !== null) state.declarations.markRefused(d, marked.marks);
  for (const h of plan.hosts) {
    switch (h.type) {
      case 'create': {
        const vip = state.allocator.allocate(range, h.host.name)!;
        state.transitions.add({ type: 'vip.assigned', service: h.host.name, vip, range: range.text, by });
        state.writeService(h.host.name, h.host.spec, h.host.labels, statusOf(vip, [{ agent: e.agent, healthy }]), rev());
        state.published.add(h.host.name);
        // Under 'listings' the creator pays as its lister: nothing to record.
        if (rules.shares === 'creations') state.charges.set(h.host.name, e.agent);
        break;
      }
      case 'configure': {
        const svc = state.services.get(h.host.name)!;
        const status = h.join ? MeshState.withEndpoint(svc.status, e.agent, healthy) : svc.status;
        state.writeService(h.host.name, h.host.spec, h.host.labels, status, rev());
        state.published.add(h.host.name);
        if (h.join && rules.shares === 'listings') state.listedAgain(h.host.name);
        break;
      }
      case 'join': {
        const svc = state.services.get(h.name)!;
        state.writeService(h.name, svc.spec, svc.labels, MeshState.withEndpoint(svc.status, e.agent, healthy), rev());
        if (rules.shares === 'listings') state.listedAgain(h.name);
        break;
      }
      case 'keep':
        break;
      case 'refuse':
        n.refused++;
        if (marked === null || marked.audited.has(h.name)) state.transitions.add({ type: 'publish.refused', service: h.name, agent: e.agent, reason: h.reason });
        break;
      default: {
        const never: never = h;
        return never;
      }
    }
  }
  const beyond = marked?.beyond ?? [];
  if (beyond.length > 0) state.transitions.add({ type: 'publish.refused', service: beyond[0]!.name, agent: e.agent, reason: beyondReason(beyond) });
  for (const name of plan.leave) {
    const svc = state.services.get(name)!;
    state.writeService(name, svc.spec, svc.labels, MeshState.withEndpoint(svc.status, e.agent, null), rev());
    if (rules.shares === 'listings') state.unlistedBy(name, e.agent);
  }
  if (plan.declare) {
    const before = d.names();
    d.lazy = e.lazy;
    d.hosts = e.hosts.map((h) => h.name);
    d.dependencies = e.dependencies;
    // Now declared: never observed, never expiring.
    for (const name of [...d.observed.keys()]) if (d.declares(name)) d.observed.delete(name);
    state.declarations.reindex(d, before);
    d.revision = rev();
  }
}

/** The agents' shares at this entry (the allocator purged first: its count is the one at this entry). */
function sharesAt(state: MeshState, rule: ShareRule): PublishShares {
  return {
    rule,
    heldBy: (agent) => state.chargedTo(agent, rule) + state.allocator.quarantinedBy(agent),
    unlistedPayer: (name) => (state.listed(name) ? null : state.charges.payer(name)),
  };
}

function usage(state: MeshState, u: UsageEntry, rev: () => number, n: Counts): void {
  let d: AgentDeclaration | null = state.declarations.get(u.agent);
  if (d === null) {
    if (u.missed.length === 0) return;
    if (state.declarations.size >= MAX_AGENT_RECORDS) {
      n.dropped += u.missed.length;
      return;
    }
    d = state.declarations.open(u.agent);
  }
  for (const name of u.missed) {
    if (d.declares(name)) continue;
    if (d.observed.has(name)) {
      used(state, d, name);
      continue;
    }
    if (d.observed.size >= MAX_OBSERVED) {
      n.dropped++;
      continue;
    }
    const before = d.names();
    d.observed.set(name, { since: state.clock, lastUsed: state.clock, expiring: false });
    state.declarations.reindex(d, before);
    d.revision = rev();
    n.observed++;
    state.transitions.add({ type: 'dependency.added', agent: u.agent, name, pending: !state.services.has(name) });
  }
  for (const name of u.used) if (d.observed.has(name)) used(state, d, name);
}

function used(state: MeshState, d: AgentDeclaration, name: string): void {
  const o = d.observed.get(name)!;
  d.observed.set(name, { since: o.since, lastUsed: Math.max(o.lastUsed, state.clock), expiring: false });
  state.declarations.agesChanged();
}

/** The agent's endpoints take the health its committed record says (online or not). */
function health(state: MeshState, agent: string, agents: AgentsView, rev: () => number, n: Counts): void {
  const online = agents.get(agent)?.online === true;
  for (const [name, healthy] of [...state.endpointsOf(agent)].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (healthy === online) continue;
    const svc = state.services.get(name)!;
    state.writeService(name, svc.spec, svc.labels, MeshState.withEndpoint(svc.status, agent, online), rev());
    n.healthChanged++;
  }
}

/**
 * An agent the agents kind no longer records (reaped or forgotten by an operator): its endpoints
 * leave their services and its declaration goes. Read at this entry: an agent recorded again
 * since the leader asked keeps everything.
 */
function forget(state: MeshState, agent: string, agents: AgentsView, rules: PublishRules, rev: () => number, n: Counts): void {
  if (agents.get(agent) !== null) return;
  const endpoints = [...state.endpointsOf(agent).keys()].sort();
  for (const name of endpoints) {
    const svc = state.services.get(name)!;
    state.writeService(name, svc.spec, svc.labels, MeshState.withEndpoint(svc.status, agent, null), rev());
    // Its last listings stay charged to it through the grace and the quarantine, as a leave's.
    if (rules.shares === 'listings') state.unlistedBy(name, agent);
  }
  // Its configuration is gone with it: no agent holds its version any more, so no revision for it.
  const dropped = state.declarations.remove(agent);
  if (dropped || endpoints.length > 0) {
    n.forgotten++;
    state.transitions.add({ type: 'declaration.forgotten', agent, endpoints });
  }
}

function expire(state: MeshState, ttlMs: number, rev: () => number, n: Counts): void {
  for (const d of state.declarations.sorted()) {
    for (const name of d.observedNames) {
      const o = d.observed.get(name)!;
      const unusedMs = state.clock - o.lastUsed;
      if (unusedMs >= 2 * ttlMs) {
        const before = d.names();
        d.observed.delete(name);
        state.declarations.reindex(d, before);
        d.revision = rev();
        n.expired++;
        state.transitions.add({ type: 'dependency.expired', agent: d.agent, name, unusedMs });
      } else if (unusedMs >= ttlMs && !o.expiring) {
        d.observed.set(name, { ...o, expiring: true });
        state.declarations.agesChanged();
        state.transitions.add({ type: 'dependency.expiring', agent: d.agent, name, unusedMs });
      }
    }
  }
}

/** How long a dependency went unused, for audit reasons. */
export function unusedText(ms: number): string {
  return `unused for ${formatDuration(ms)}`;
}
