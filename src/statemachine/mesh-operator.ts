/**
 * The operator's changes to the mesh: `ctl apply` (a whole file, one revision) and `ctl delete`.
 *
 * - A resource whose spec and labels are unchanged is not written; a file that changes nothing
 *   claims no revision.
 * - Refused whole, nothing applied: routes naming a service that would not exist; a new service
 *   when the VIP range has no free address left ("range exhausted").
 * - A new service gets a VIP from `services.vip_cidr` (as in force at this entry); status (VIP,
 *   endpoints) is the cluster's and an apply keeps it.
 * - Deleting a service a route still names is refused. A deleted service's VIP is quarantined
 *   and the service leaves every agent's observed dependencies (a static dependency or a hosted
 *   name stays declared: the agent said so, and gets the service if it comes back).
 * - From cluster version SERVICE_OWNERSHIP_VERSION an applied service is the operator's
 *   (mesh-ownership.ts): a write of it keeps as endpoints only the agents its label
 *   `mesh/allowed-agents` allows (the others are taken off, audited), and an apply of an agent's
 *   published service, even unchanged, makes it the operator's (no revision: no agent's
 *   configuration changes), so it is never expired as an agent's. With `services.agent_publish:
 *   declared` (DECLARED_PUBLISH_VERSION) an apply of a service, even unchanged, also takes off the
 *   endpoints its label does not allow (a revision when it does), as a write would.
 */
import { formatDuration } from '../config/duration.js';
import { settingsKind } from './settings.js';
import { SERVICE_OWNERSHIP_VERSION, TAKEN_OFF_RESULT_VERSION, clusterKind } from './cluster-version.js';
import { agentAllowed, notAllowedReason } from './mesh-ownership.js';
import { declaredOnly } from './mesh-publish.js';
import type { MeshApply, MeshDelete } from './mesh-commands.js';
import { MeshState, vipRange } from './mesh-state.js';
import { shareRuleOf, type ShareRule } from './publisher-shares.js';
import { contentKey, routeEnds, statusOf, type Endpoint, type Labels, type ResourceType } from './mesh-types.js';
import type { ApplyContext } from './resource-kind.js';
import { failure, okResult, type ApplyResult } from './result.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** The `value` of an apply result: what happened to each resource, in the file's order. */
export interface MeshApplyOutcome {
  readonly results: readonly { readonly kind: ResourceType; readonly name: string; readonly action: ApplyAction }[];
}

/** Names in a refusal: enough to act on, bounded so a huge file cannot make a huge message. */
const MAX_NAMED = 20;

export function namedList(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMED).join(', ');
  return names.length > MAX_NAMED ? `${shown} and ${names.length - MAX_NAMED} more` : shown;
}

export function applyResources(state: MeshState, command: MeshApply, ctx: ApplyContext): ApplyResult {
  // Every check before any change: a refused list leaves no trace.
  const incoming = new Set(command.resources.filter((r) => r.kind === 'service').map((r) => r.name));
  const dangling: string[] = [];
  for (const r of command.resources) {
    if (r.kind !== 'route') continue;
    const missing = routeEnds(r.spec).filter((s) => !incoming.has(s) && !state.services.has(s));
    if (missing.length > 0) dangling.push(`route ${JSON.stringify(r.name)} names ${missing.map((s) => JSON.stringify(s)).join(' and ')}`);
  }
  if (dangling.length > 0) return failure('CONFLICT', `nothing applied: services that would not exist: ${namedList(dangling)}`);
  const cluster = ctx.read(clusterKind);
  const ownership = cluster.supports(SERVICE_OWNERSHIP_VERSION);
  const settings = ctx.read(settingsKind);
  // Under `services.agent_publish: declared`, an apply of a service, even unchanged, takes off the
  // endpoints its label does not allow, as a write does: otherwise a squatter that published the
  // operator's exact spec and grant beforehand (or was kept when an earlier apply adopted the
  // service) kept serving the name the operator took back.
  const declared = declaredOnly(cluster, settings);
  const takesOff = command.resources.map((r) => declared && r.kind === 'service' && notAllAllowed(state, r.name, r.labels));
  // Such a service is written (its endpoints change, the revision moves): from
  // TAKEN_OFF_RESULT_VERSION its result says `configured`, as for any write of one that exists.
  const takenOffConfigured = cluster.supports(TAKEN_OFF_RESULT_VERSION);
  /** What each resource's content does, endpoints taken off aside. */
  const actions = command.resources.map((r) => {
    const current = state.get(r.kind, r.name);
    const action: ApplyAction = current === null ? 'created' : contentKey(current) === contentKey(r) ? 'unchanged' : 'configured';
    return { kind: r.kind, name: r.name, action };
  });
  const outcome: MeshApplyOutcome = { results: actions.map((a, i) => (a.action === 'unchanged' && takesOff[i] && takenOffConfigured ? { ...a, action: 'configured' } : a)) };
  // The operator's from now on, even unchanged: applied once every check has passed.
  const adopt = (): void => {
    if (ownership) for (const r of command.resources) if (r.kind === 'service') state.adopt(r.name);
  };
  if (actions.every((a) => a.action === 'unchanged') && !takesOff.includes(true)) {
    adopt();
    return okResult(ctx.revision, outcome);
  }
  // Services written without a VIP need one: new ones, and any stored before VIPs existed.
  const needVip = command.resources.filter((r, i) => r.kind === 'service' && actions[i]!.action !== 'unchanged' && state.services.get(r.name)?.status.vip === undefined);
  const range = vipRange(settings.get('services.vip_cidr'));
  if (needVip.length > 0) {
    const quarantineMs = settings.get('services.vip_quarantine');
    state.allocator.purge(state.clock, quarantineMs);
    const free = state.allocator.free(range);
    if (free < needVip.length) {
      return failure(
        'CONFLICT',
        `range exhausted: nothing applied: ${needVip.length} new service(s) need a virtual IP and services.vip_cidr ${range.text} has ${free} free ` +
          `(the others in use, or quarantined for ${formatDuration(quarantineMs)} after their service's deletion); widen the range with ctl config set services.vip_cidr`,
      );
    }
  }
  adopt();
  const revision = ctx.bump();
  for (const [i, r] of command.resources.entries()) {
    if (actions[i]!.action === 'unchanged' && !takesOff[i]) continue;
    switch (r.kind) {
      case 'service': {
        const status = state.services.get(r.name)?.status ?? {};
        let vip = status.vip;
        if (vip === undefined) {
          vip = state.allocator.allocate(range, r.name)!;
          state.transitions.add({ type: 'vip.assigned', service: r.name, vip, range: range.text, by: 'apply' });
        }
        const endpoints = ownership ? allowedEndpoints(state, r.name, r.labels, status.endpoints ?? []) : (status.endpoints ?? []);
        state.writeService(r.name, r.spec, r.labels, statusOf(vip, endpoints), revision);
        state.adopt(r.name);
        break;
      }
      case 'route':
        state.writeRoute(r.name, r.spec, r.labels, revision);
        break;
      default: {
        const never: never = r;
        return never;
      }
    }
  }
  return okResult(revision, outcome);
}

/** Whether `service` has an endpoint that `labels` do not allow. */
export function notAllAllowed(state: Pick<MeshState, 'services'>, service: string, labels: Labels): boolean {
  return (state.services.get(service)?.status.endpoints ?? []).some((e) => !agentAllowed(labels, e.agent));
}

/** The endpoints the operator's service allows; the others are taken off, each audited. */
function allowedEndpoints(state: MeshState, service: string, labels: Labels, endpoints: readonly Endpoint[]): readonly Endpoint[] {
  const kept: Endpoint[] = [];
  for (const e of endpoints) {
    if (agentAllowed(labels, e.agent)) kept.push(e);
    else state.transitions.add({ type: 'publish.refused', service, agent: e.agent, reason: `taken off the service's endpoints: ${notAllowedReason(e.agent)}` });
  }
  return kept;
}

export function deleteResource(state: MeshState, command: MeshDelete, ctx: ApplyContext): ApplyResult {
  const current = state.get(command.type, command.name);
  if (current === null) return failure('NOT_FOUND', `${command.type} ${JSON.stringify(command.name)} does not exist`);
  if (command.type === 'route') {
    const revision = ctx.bump();
    state.removeRoute(command.name, revision);
    return okResult(revision);
  }
  const routes = state.routesNaming(command.name);
  if (routes.length > 0) {
    return failure('CONFLICT', `service ${JSON.stringify(command.name)} is still named by route(s) ${namedList(routes.map((r) => JSON.stringify(r)))}; delete them first`);
  }
  const revision = ctx.bump();
  removeServiceEverywhere(state, command.name, revision, 'deleted', shareRuleOf(ctx.read(clusterKind)));
  return okResult(revision);
}

/** Removes a service (deleted by an operator, or an agent's expired), its VIP quarantined. */
export function removeServiceEverywhere(state: MeshState, name: string, revision: number, cause: 'deleted' | 'expired', rule: ShareRule | null): void {
  // Every agent with it among its names sees the change, also those whose observation of it ends
  // here (a removed service leaves every observed set).
  state.declarations.touchService(name, revision);
  for (const agent of [...state.declarations.dependentsOf(name)].sort()) {
    const d = state.declarations.get(agent)!;
    if (!d.observed.has(name)) continue;
    const before = d.names();
    d.observed.delete(name);
    state.declarations.reindex(d, before);
    state.transitions.add({ type: 'dependency.removed', agent, name, reason: `service ${cause}` });
  }
  state.removeService(name, revision, cause, rule);
}
