/**
 * What an agent's publish (its whole `hosts` set and declaration, sent on every (re)connect)
 * would change, as a plan: the one rule both the state machine's apply and the serving
 * controller's pre-check follow, so an identical re-publish is recognised before it is proposed
 * (zero Raft writes) and, if one is proposed anyway (a lagging controller), changes nothing in
 * apply (no new revision).
 *
 * Per hosted service:
 * - missing: created with the agent's spec and labels and a new VIP (refused when the range is
 *   exhausted, and from cluster version PUBLISH_SHARE_VERSION when the agent holds
 *   MAX_SERVICES_PER_AGENT services by its publishes already: publisher-shares.ts);
 * - same spec and labels: the agent joins its endpoints (nothing, if it is one already); from
 *   LISTER_SHARE_VERSION a join of an agents' service is counted and refused past the bound as a
 *   creation is, unless the agent is the one charged for it already (listing it again);
 * - another spec or labels: the agent may change it only when no other agent publishes it and its
 *   spec came from a publish (an agent restarted with a new agent.yaml); otherwise the publish is
 *   refused for that service, audited, and the service stays as it is: the first publisher's
 *   spec stands against a second agent's, an operator's (`ctl apply`) against any agent's. Last
 *   writer wins would let two agents, or an agent and an operator, rewrite the service on every
 *   reconnect. An agent that was an endpoint stays one.
 * - from cluster version SERVICE_OWNERSHIP_VERSION, an operator's service (its spec last written by
 *   `ctl apply`) is the operator's: an agent joins it only when the service allows the agent
 *   (mesh-ownership.ts), and then with the same spec and labels, the operator's grant aside;
 *   any other agent is refused for that service (its other services still go through). An agent
 *   that is an endpoint already stays one until the operator's next write of the service.
 * - from cluster version DECLARED_PUBLISH_VERSION, with the cluster setting
 *   `services.agent_publish: declared`, an agent's publish serves only services an operator
 *   applied: one no operator applied is refused, missing (nothing is created) or published by
 *   agents (none joins it or changes its spec; an agent that is an endpoint already with the same
 *   spec stays one, so services agents created before the setting keep serving until the
 *   operator applies or deletes them, or no agent lists them and they expire).
 * Status (VIP, endpoints) is the cluster's: a publish never writes it beyond the agent's own
 * endpoint. Services the agent published before and no longer lists lose its endpoint (they
 * stay; from SERVICE_OWNERSHIP_VERSION one that no agent lists any more is expired by the
 * leader after a grace, mesh-duties.ts).
 *
 * A publish is fenced by the stream that sent it: applied only while that stream's claim is the
 * agent's committed one, so a late publish from a connection the agent has left cannot undo a
 * newer one.
 */
import { quotedList } from '../util/quoted-list.js';
import { DECLARED_PUBLISH_VERSION, type ClusterView } from './cluster-version.js';
import type { AgentDeclarationView } from './mesh-declarations.js';
import type { PublishEntry } from './mesh-commands.js';
import { agentAllowed, matchesOperatorService, notAllowedReason, undeclaredReason } from './mesh-ownership.js';
import { MAX_ENDPOINTS, contentKey, type HostedService, type ServiceResource } from './mesh-types.js';
import { MAX_SERVICES_PER_AGENT, overShareReason, type ShareAction, type ShareRule } from './publisher-shares.js';
import type { SettingsView } from './settings.js';

/**
 * Why a host is refused: the range or the endpoints are full, its spec disagrees with the one that
 * stands, (SERVICE_OWNERSHIP_VERSION) the operator's service does not allow the agent, or
 * (PUBLISH_SHARE_VERSION) the agent holds as many services by its publishes as it may, or
 * (DECLARED_PUBLISH_VERSION, `services.agent_publish: declared`) no operator applied the service.
 */
export const REFUSAL_CAUSES = ['capacity', 'spec', 'not-allowed', 'share', 'undeclared'] as const;
export type RefusalCause = (typeof REFUSAL_CAUSES)[number];

export type HostAction =
  | { readonly type: 'create'; readonly host: HostedService }
  | { readonly type: 'configure'; readonly host: HostedService; readonly join: boolean }
  | { readonly type: 'join'; readonly name: string }
  | { readonly type: 'keep'; readonly name: string }
  | { readonly type: 'refuse'; readonly name: string; readonly cause: RefusalCause; readonly reason: string };

export type PublishPlan =
  /** The stream that sent it no longer holds the agent (or never did): nothing is applied. */
  | { readonly type: 'stale' }
  /** The cluster holds as many agent records as it may: nothing is applied. */
  | { readonly type: 'full' }
  | {
      readonly type: 'plan';
      readonly hosts: readonly HostAction[];
      /** Services the agent is an endpoint of and no longer hosts. */
      readonly leave: readonly string[];
      /** Its declaration (lazy, hosted names, static dependencies) differs from the record. */
      readonly declare: boolean;
    };

export interface PublishState {
  service(name: string): ServiceResource | null;
  declaration(agent: string): AgentDeclarationView | null;
  /** Services `agent` is an endpoint of. */
  endpointServices(agent: string): Iterable<string>;
  /** Whether the service's spec and labels were last written by an operator's apply (not a publish). */
  operatorSpec(name: string): boolean;
  /** The session of the agent's committed claim (agents kind); null: none. */
  claimedSession(agent: string): string | null;
  /** Free virtual IPs in the range in force. */
  freeVips(): number;
  /** Whether a new agent record may be created. */
  roomForRecord(): boolean;
  /** The agents' shares (publisher-shares.ts); null below PUBLISH_SHARE_VERSION, where nothing bounds them. */
  readonly shares: PublishShares | null;
  /** The cluster is at SERVICE_OWNERSHIP_VERSION: an operator's service is the operator's. */
  readonly ownership: boolean;
  /** `services.agent_publish` is `declared` (DECLARED_PUBLISH_VERSION): only services an operator applied are served. */
  readonly declaredOnly: boolean;
}

export interface PublishShares {
  readonly rule: ShareRule;
  /** Services `agent` holds by its publishes under the rule, quarantined VIPs included. */
  heldBy(agent: string): number;
  /** The agent charged for an agents' service no agent lists (its last lister, or creator); null: listed or none. */
  unlistedPayer(name: string): string | null;
}

/**
 * Whether only services an operator applied may be served by agents' publishes: the setting says
 * `declared`. It can say so only from DECLARED_PUBLISH_VERSION (a set is refused below it); the
 * level is checked as well so that the rule never runs where an older member could apply it.
 */
export function declaredOnly(cluster: ClusterView, settings: SettingsView): boolean {
  return settings.get('services.agent_publish') === 'declared' && cluster.supports(DECLARED_PUBLISH_VERSION);
}

const OPERATOR_SPEC_STANDS = "applied by an operator with another spec or labels; the operator's stands (ctl apply changes it)";

export function planPublish(entry: PublishEntry, state: PublishState): PublishPlan {
  if (state.claimedSession(entry.agent) !== entry.session) return { type: 'stale' };
  const record = state.declaration(entry.agent);
  if (record === null && !state.roomForRecord()) return { type: 'full' };
  const hosted = new Set(entry.hosts.map((h) => h.name));
  const leave = [...state.endpointServices(entry.agent)].filter((s) => !hosted.has(s)).sort();
  let free = state.freeVips();
  const shares = state.shares;
  let held = shares === null ? null : shares.heldBy(entry.agent);
  // Under 'listings' the agent stops paying for what it leaves that others still list (the last lister of one pays on).
  if (held !== null && shares?.rule === 'listings') held -= leave.filter((name) => sharedWithOthers(state, name, entry.agent)).length;
  /** The refusal when one more service would take the agent past its share; null: it may. */
  const overShare = (name: string, action: ShareAction): HostAction | null =>
    held !== null && shares !== null && held >= MAX_SERVICES_PER_AGENT ? { type: 'refuse', name, cause: 'share', reason: overShareReason(entry.agent, held, shares.rule, action) } : null;
  /**
   * Whether joining `name` adds to the agent's share: under 'listings', an agents' service it does
   * not list yet, unless it is the one charged for it already (listing it again within the grace).
   */
  const joinCounted = (name: string): boolean => shares?.rule === 'listings' && !state.operatorSpec(name) && shares.unlistedPayer(name) !== entry.agent;
  const join = (name: string, action: HostAction): HostAction => {
    if (!joinCounted(name)) return action;
    const refusal = overShare(name, 'join');
    if (refusal !== null) return refusal;
    held = held! + 1;
    return action;
  };
  const hosts = entry.hosts.map((host): HostAction => {
    const svc = state.service(host.name);
    if (svc === null) {
      if (state.declaredOnly) return { type: 'refuse', name: host.name, cause: 'undeclared', reason: undeclaredReason(host.name, false) };
      const refusal = overShare(host.name, 'create');
      if (refusal !== null) return refusal;
      if (free <= 0) return { type: 'refuse', name: host.name, cause: 'capacity', reason: 'range exhausted: no virtual IP is free in services.vip_cidr' };
      free--;
      if (held !== null) held++;
      return { type: 'create', host };
    }
    const endpoints = svc.status.endpoints ?? [];
    const member = endpoints.some((e) => e.agent === entry.agent);
    const full: HostAction | null = !member && endpoints.length >= MAX_ENDPOINTS ? { type: 'refuse', name: host.name, cause: 'capacity', reason: `service already lists ${MAX_ENDPOINTS} endpoints` } : null;
    if (state.ownership && state.operatorSpec(host.name)) {
      if (!member && !agentAllowed(svc.labels, entry.agent)) return { type: 'refuse', name: host.name, cause: 'not-allowed', reason: notAllowedReason(entry.agent) };
      if (matchesOperatorService(svc, host)) return member ? { type: 'keep', name: host.name } : (full ?? { type: 'join', name: host.name });
      return { type: 'refuse', name: host.name, cause: 'spec', reason: OPERATOR_SPEC_STANDS };
    }
    const same = contentKey(svc) === contentKey({ kind: 'service', ...host });
    if (state.declaredOnly && !state.operatorSpec(host.name) && !(member && same)) return { type: 'refuse', name: host.name, cause: 'undeclared', reason: undeclaredReason(host.name, true) };
    if (same) {
      if (member) return { type: 'keep', name: host.name };
      return full ?? join(host.name, { type: 'join', name: host.name });
    }
    const others = endpoints.filter((e) => e.agent !== entry.agent).map((e) => e.agent);
    if (others.length > 0) {
      return { type: 'refuse', name: host.name, cause: 'spec', reason: `published by ${quotedList(others)} with another spec or labels; the first publisher's stands` };
    }
    if (state.operatorSpec(host.name)) return { type: 'refuse', name: host.name, cause: 'spec', reason: OPERATOR_SPEC_STANDS };
    if (member) return { type: 'configure', host, join: false };
    return full ?? join(host.name, { type: 'configure', host, join: true });
  });
  const declare =
    record === null
      ? entry.lazy || entry.hosts.length > 0 || entry.dependencies.length > 0
      : record.lazy !== entry.lazy || !sameList(record.hosts, [...hosted]) || !sameList(record.dependencies, entry.dependencies);
  return { type: 'plan', hosts, leave, declare };
}

/** Whether `name` is an agents' service that some agent besides `agent` lists (is an endpoint of). */
function sharedWithOthers(state: PublishState, name: string, agent: string): boolean {
  if (state.operatorSpec(name)) return false;
  return (state.service(name)?.status.endpoints ?? []).some((e) => e.agent !== agent);
}

/** Whether applying the plan changes anything (refusals and services kept change nothing). */
export function planChanges(plan: PublishPlan): boolean {
  if (plan.type !== 'plan') return false;
  return plan.declare || plan.leave.length > 0 || plan.hosts.some((h) => h.type === 'create' || h.type === 'configure' || h.type === 'join');
}

/**
 * Whether an agent with this declaration has its record in the log as declared (a lazy agent's
 * configuration is computed from the record, so it is served once its publish is committed).
 */
export function declaredAs(record: AgentDeclarationView | null, d: { readonly lazy: boolean; readonly hosts: readonly string[]; readonly dependencies: readonly string[] }): boolean {
  if (record === null) return !d.lazy && d.hosts.length === 0 && d.dependencies.length === 0;
  return record.lazy === d.lazy && sameList(record.hosts, d.hosts) && sameList(record.dependencies, d.dependencies);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
