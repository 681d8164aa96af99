/**
 * The mesh kind's state and its primitive changes: services, routes, the agents' declarations,
 * the VIP allocator and the log clock, with the derived indexes kept in step (routes naming a
 * service, endpoints by agent, agents by name). The operations (mesh-operator.ts for `apply` and
 * `delete`, mesh-report.ts for controllers' reports) are written in terms of these changes, so
 * every change reaches the agents whose configuration it touches (DeclarationBook.touch*).
 */
import { parseIpv4Cidr } from '../settings/ipv4-cidr.js';
import { DeclarationBook, type AgentDeclarationView } from './mesh-declarations.js';
import {
  compareResources,
  routeEnds,
  statusOf,
  type Endpoint,
  type Labels,
  type Resource,
  type ResourceType,
  type RouteResource,
  type RouteSpec,
  type ServiceResource,
  type ServiceSpec,
} from './mesh-types.js';
import { MESH_SNAPSHOT_FIXED_LENGTH, QUARANTINE_ENTRY_LENGTH, resourceSize } from './mesh-size.js';
import { ResourceOrder } from './resource-order.js';
import { TransitionLog } from './transition-log.js';
import { ChargeBook, type KeptBy, type ShareRule } from './publisher-shares.js';
import { VipAllocator, type VipRange } from './vip-allocator.js';

/** Committed transitions every node audits once (service.vip.assigned, agent.dependency.*, ...). */
export type MeshTransition =
  | { readonly seq: number; readonly type: 'vip.assigned'; readonly service: string; readonly vip: string; readonly range: string; readonly by: string }
  | { readonly seq: number; readonly type: 'vip.released'; readonly service: string; readonly vip: string; readonly cause: 'deleted' | 'expired' }
  | { readonly seq: number; readonly type: 'publish.refused'; readonly service: string; readonly agent: string; readonly reason: string }
  | { readonly seq: number; readonly type: 'declaration.forgotten'; readonly agent: string; readonly endpoints: readonly string[] }
  | { readonly seq: number; readonly type: 'dependency.added'; readonly agent: string; readonly name: string; readonly pending: boolean }
  | { readonly seq: number; readonly type: 'dependency.expiring' | 'dependency.expired'; readonly agent: string; readonly name: string; readonly unusedMs: number }
  | { readonly seq: number; readonly type: 'dependency.removed'; readonly agent: string; readonly name: string; readonly reason: string };

export const MESH_TRANSITION_LOG_SIZE = 8_192;

/** The range `services.vip_cidr` names (the setting's codec only lets valid ranges in). */
export function vipRange(text: string): VipRange {
  const parsed = parseIpv4Cidr(text);
  if (!parsed.ok) throw new Error(`services.vip_cidr holds an invalid range: ${parsed.reason}`);
  return { text, cidr: parsed.cidr };
}

export class MeshState {
  readonly services = new Map<string, ServiceResource>();
  readonly routes = new Map<string, RouteResource>();
  readonly declarations = new DeclarationBook();
  readonly allocator = new VipAllocator();
  readonly transitions = new TransitionLog<MeshTransition>(MESH_TRANSITION_LOG_SIZE);
  /** Services whose spec and labels came from an agent's publish (the others' from an operator's apply). */
  readonly published = new Set<string>();
  /** Of those, the agent each is charged to when its listers do not pay (publisher-shares.ts). */
  readonly charges = new ChargeBook();
  /** Derived: service name -> the routes naming it. */
  private readonly referrers = new Map<string, Set<string>>();
  /** Derived: agent -> service -> the endpoint's health. */
  private readonly endpointIndex = new Map<string, Map<string, boolean>>();
  /** Derived: the resources sorted, merged with what changed at each listing (resource-order.ts). */
  private readonly order = new ResourceOrder();
  /** Derived: `kind/name` -> resourceSize, and the sums kept with it (see mesh-size.ts). */
  private readonly shares = new Map<string, number>();
  private shareSum = 0;
  /** Services' names as a snapshot's `published` would list them all: it lists a subset. */
  private serviceNameChars = 0;
  /** The revision of the last change to any service or route (deletes included). */
  lastChange = 0;
  /** Log time: the largest `at` any command carried (ms since the epoch); never goes back. */
  clock = 0;

  advanceClock(at: number | undefined): void {
    if (at !== undefined && at > this.clock) this.clock = at;
  }

  // ---- queries ---------------------------------------------------------------------------------

  /** The UTF-8 bytes of the JSON list of every resource (a full push's, a snapshot's), within a byte. */
  get resourceBytes(): number {
    return 2 + this.shareSum;
  }

  /** An upper bound of the mesh kind's snapshot JSON length (MeshStore.snapshot), in UTF-16 units. */
  snapshotLength(): number {
    return MESH_SNAPSHOT_FIXED_LENGTH + this.resourceBytes + this.serviceNameChars + this.declarations.snapshotLength() + this.allocator.quarantined * QUARANTINE_ENTRY_LENGTH + this.allocator.ownersLength + this.charges.snapshotLength();
  }

  list(): readonly Resource[] {
    return this.order.list(this.services, this.routes);
  }

  get(type: ResourceType, name: string): Resource | null {
    return (type === 'service' ? this.services.get(name) : this.routes.get(name)) ?? null;
  }

  routesNaming(service: string): readonly string[] {
    return [...(this.referrers.get(service) ?? [])].sort();
  }

  /** Service -> health of `agent`'s endpoint there. */
  endpointsOf(agent: string): ReadonlyMap<string, boolean> {
    return this.endpointIndex.get(agent) ?? EMPTY_ENDPOINTS;
  }

  /** Agents listed as an endpoint of some service, sorted. */
  endpointAgents(): readonly string[] {
    return [...this.endpointIndex.keys()].sort();
  }

  /**
   * A lazy agent's configuration: the services among its names that exist and the routes with
   * both ends among them, sorted by kind, then name.
   */
  selectionOf(agent: string): readonly Resource[] {
    const d = this.declarations.get(agent);
    if (d === null) return [];
    const names = d.names();
    const out: Resource[] = [];
    const routes = new Set<string>();
    for (const n of names) {
      const svc = this.services.get(n);
      if (svc !== undefined) out.push(svc);
      for (const r of this.referrers.get(n) ?? []) {
        if (routes.has(r)) continue;
        const route = this.routes.get(r)!;
        if (routeEnds(route.spec).every((e) => names.has(e))) {
          routes.add(r);
          out.push(route);
        }
      }
    }
    return out.sort(compareResources);
  }

  declaration(agent: string): AgentDeclarationView | null {
    return this.declarations.get(agent);
  }

  /** Free VIPs in `range` at log time `now` (quarantines ending by then count as free). Reads only. */
  freeVips(range: VipRange, quarantineMs: number, now: number): number {
    return this.allocator.freeAt(range, now, quarantineMs);
  }

  /**
   * Services `agent` holds by its publishes at log time `now` under `rule` (publisher-shares.ts):
   * its charges, and the VIPs of those gone still quarantined then. Reads only.
   */
  heldBy(agent: string, rule: ShareRule, quarantineMs: number, now: number): number {
    return this.chargedTo(agent, rule) + this.allocator.quarantinedByAt(agent, now, quarantineMs);
  }

  /**
   * The existing agents' services charged to `agent`: under 'creations' those it created; under
   * 'listings' those it lists (is an endpoint of) and those no agent lists that it listed last.
   * O(its endpoints + its charges), each bounded (MAX_AGENT_NAMES, the share).
   */
  chargedTo(agent: string, rule: ShareRule): number {
    if (rule === 'creations') return this.charges.countOf(agent);
    let n = 0;
    for (const name of this.endpointsOf(agent).keys()) if (this.published.has(name)) n++;
    for (const name of this.charges.servicesOf(agent)) if (!this.listed(name)) n++;
    return n;
  }

  /** Whether the service has an endpoint (some agent's listing of it was accepted). */
  listed(name: string): boolean {
    return (this.services.get(name)?.status.endpoints?.length ?? 0) > 0;
  }

  /** Under 'listings': an agent listed `name`, so its listers pay; the last lister before is released. */
  listedAgain(name: string): void {
    this.charges.drop(name);
  }

  /** Under 'listings': `agent` no longer lists `name`; were it the last lister of an agents' service, it stays charged. */
  unlistedBy(name: string, agent: string): void {
    if (this.published.has(name) && !this.listed(name)) this.charges.set(name, agent);
  }

  /** A service agents published becomes the operator's (its apply): no longer counted as theirs. */
  adopt(name: string): void {
    this.published.delete(name);
    this.charges.drop(name);
  }

  // ---- changes ---------------------------------------------------------------------------------

  /** Writes a service at `revision` (spec, labels and status as given) and reaches its dependents. */
  writeService(name: string, spec: ServiceSpec, labels: Labels, status: ServiceResource['status'], revision: number): void {
    const old = this.services.get(name);
    if (old !== undefined) this.unindexEndpoints(old);
    const svc: ServiceResource = { kind: 'service', name, spec, labels, status, revision };
    this.services.set(name, svc);
    this.sized(svc);
    this.indexEndpoints(svc);
    this.changed('service', name, revision);
    this.declarations.touchService(name, revision);
  }

  /** A service's status with `agent`'s endpoint set (healthy) or removed (null); sorted by agent. */
  static withEndpoint(status: ServiceResource['status'], agent: string, healthy: boolean | null): ServiceResource['status'] {
    const rest = (status.endpoints ?? []).filter((e) => e.agent !== agent);
    const endpoints: Endpoint[] = healthy === null ? rest : [...rest, { agent, healthy }].sort((a, b) => (a.agent < b.agent ? -1 : 1));
    return statusOf(status.vip, endpoints);
  }

  /**
   * Services agents published that no agent lists as hosted any more and no route names, sorted:
   * what the leader expires once they stay so for its grace (mesh-duties.ts).
   */
  unlistedPublished(keptBy: KeptBy): string[] {
    return [...this.published].filter((name) => this.expirable(name, keptBy)).sort();
  }

  /**
   * Whether `name` is an agent's published service that no agent lists and no route names; listed
   * by a declaration naming it (refused or not) or, from LISTER_SHARE_VERSION, by an endpoint
   * (publisher-shares.ts keptByFor).
   */
  expirable(name: string, keptBy: KeptBy): boolean {
    if (!this.published.has(name) || this.referrers.has(name)) return false;
    return keptBy === 'endpoints' ? !this.listed(name) : !this.declarations.hosted(name);
  }

  /**
   * Removes a service, its VIP quarantined and charged as `rule` says: under 'creations' to its
   * creator; under 'listings' to its first lister (by id) when an operator deletes an agents'
   * service still listed, else to the agent charged for it (its last lister).
   */
  removeService(name: string, revision: number, cause: 'deleted' | 'expired', rule: ShareRule | null): ServiceResource | null {
    const svc = this.services.get(name);
    if (svc === undefined) return null;
    const charged = this.charges.drop(name);
    const firstLister = rule === 'listings' && this.published.has(name) ? (svc.status.endpoints?.[0]?.agent ?? null) : null;
    const payer = firstLister ?? charged;
    this.declarations.touchService(name, revision);
    this.unindexEndpoints(svc);
    this.services.delete(name);
    this.unsized(svc);
    this.published.delete(name);
    if (svc.status.vip !== undefined) {
      this.allocator.release(svc.status.vip, this.clock, payer);
      this.transitions.add({ type: 'vip.released', service: name, vip: svc.status.vip, cause });
    }
    this.changed('service', name, revision);
    return svc;
  }

  writeRoute(name: string, spec: RouteSpec, labels: Labels, revision: number): void {
    const old = this.routes.get(name);
    if (old !== undefined) {
      this.unindexRoute(old);
      this.declarations.touchRoute(old.spec.from, old.spec.to, revision);
    }
    const route: RouteResource = { kind: 'route', name, spec, labels, status: {}, revision };
    this.routes.set(name, route);
    this.sized(route);
    this.indexRoute(route);
    this.declarations.touchRoute(spec.from, spec.to, revision);
    this.changed('route', name, revision);
  }

  removeRoute(name: string, revision: number): void {
    const old = this.routes.get(name);
    if (old === undefined) return;
    this.unindexRoute(old);
    this.routes.delete(name);
    this.unsized(old);
    this.declarations.touchRoute(old.spec.from, old.spec.to, revision);
    this.changed('route', name, revision);
  }

  /** Loads a stored resource as it is (a snapshot). */
  load(r: Resource): void {
    this.sized(r);
    if (r.kind === 'service') {
      this.services.set(r.name, r);
      this.indexEndpoints(r);
      if (r.status.vip !== undefined) this.allocator.claim(r.status.vip, r.name);
    } else {
      this.routes.set(r.name, r);
      this.indexRoute(r);
    }
    this.order.reset();
  }

  /** Counts `r` in place of what was stored under its name (call after storing it). */
  private sized(r: Resource): void {
    const key = `${r.kind}/${r.name}`;
    const n = resourceSize(r);
    const old = this.shares.get(key);
    if (old === undefined && r.kind === 'service') this.serviceNameChars += r.name.length + 3;
    this.shareSum += n - (old ?? 0);
    this.shares.set(key, n);
  }

  private unsized(r: Resource): void {
    const key = `${r.kind}/${r.name}`;
    this.shareSum -= this.shares.get(key) ?? 0;
    if (this.shares.delete(key) && r.kind === 'service') this.serviceNameChars -= r.name.length + 3;
  }

  private changed(kind: ResourceType, name: string, revision: number): void {
    this.order.touch(kind, name);
    this.lastChange = revision;
  }

  private indexRoute(route: RouteResource): void {
    for (const s of routeEnds(route.spec)) {
      let set = this.referrers.get(s);
      if (set === undefined) this.referrers.set(s, (set = new Set()));
      set.add(route.name);
    }
  }

  private unindexRoute(route: RouteResource): void {
    for (const s of routeEnds(route.spec)) {
      const set = this.referrers.get(s);
      set?.delete(route.name);
      if (set?.size === 0) this.referrers.delete(s);
    }
  }

  private indexEndpoints(svc: ServiceResource): void {
    for (const e of svc.status.endpoints ?? []) {
      let m = this.endpointIndex.get(e.agent);
      if (m === undefined) this.endpointIndex.set(e.agent, (m = new Map()));
      m.set(svc.name, e.healthy);
    }
  }

  private unindexEndpoints(svc: ServiceResource): void {
    for (const e of svc.status.endpoints ?? []) {
      const m = this.endpointIndex.get(e.agent);
      m?.delete(svc.name);
      if (m?.size === 0) this.endpointIndex.delete(e.agent);
    }
  }
}

const EMPTY_ENDPOINTS: ReadonlyMap<string, boolean> = new Map();
