/**
 * The mesh kind: the services and routes the cluster serves to its agents. One kind holds both
 * because one resources file is one command and one revision, and the check that every route
 * names services that exist must see services and routes in the same apply.
 *
 * Rules (each a test in test/statemachine/mesh.test.ts):
 * - apply upserts a whole list at one revision; a resource whose spec and labels are unchanged
 *   is not written, and a list that changes nothing claims no revision at all;
 * - a list whose routes name a service that would not exist is refused whole, naming them;
 * - deleting a service a route still names is refused, naming the routes;
 * - `lastChange` is the revision of the last change to any service or route (deletes included):
 *   the version of a configuration made of all of them.
 */
import { CommandError, SnapshotError } from './errors.js';
import { Fields } from '../util/untrusted.js';
import {
  MAX_APPLY_RESOURCES,
  compareResources,
  contentKey,
  parseResource,
  parseResourceInput,
  parseResourceName,
  parseResourceType,
  resourceJson,
  resourceKey,
  routeEnds,
  type Resource,
  type ResourceInput,
  type ResourceKey,
  type ResourceType,
  type RouteResource,
  type ServiceResource,
} from './mesh-types.js';
import { commandFields, type ApplyContext, type KindInstance, type ResourceKind } from './resource-kind.js';
import { failure, okResult, type ApplyResult } from './result.js';

export const MESH_KIND = 'mesh';

export interface MeshApply {
  readonly kind: 'mesh';
  readonly op: 'apply';
  readonly resources: readonly ResourceInput[];
}

export interface MeshDelete {
  readonly kind: 'mesh';
  readonly op: 'delete';
  /** The resource's kind (the envelope's `kind` names the state-machine kind). */
  readonly type: ResourceType;
  readonly name: string;
}

export type MeshCommand = MeshApply | MeshDelete;

export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** The `value` of an apply result: what happened to each resource, in the file's order. */
export interface MeshApplyOutcome {
  readonly results: readonly { readonly kind: ResourceType; readonly name: string; readonly action: ApplyAction }[];
}

export interface MeshView {
  /** Every resource, routes then services, each by name: the order agents receive them in. */
  list(): readonly Resource[];
  listOf(type: ResourceType): readonly Resource[];
  get(type: ResourceType, name: string): Resource | null;
  /** Routes that name `service`, sorted. */
  routesNaming(service: string): readonly string[];
  /** The revision of the last change to any service or route; 0 before the first. */
  readonly lastChange: number;
  readonly size: number;
}

const APPLY_FIELDS = commandFields('op', 'resources');
const DELETE_FIELDS = commandFields('op', 'type', 'name');
/** Names in a refusal: enough to act on, bounded so a huge file cannot make a huge message. */
const MAX_NAMED = 20;

function parseMesh(fields: Fields): MeshCommand {
  const op = fields.oneOf('op', ['apply', 'delete'] as const);
  const makeError = (m: string): Error => new CommandError(m);
  if (op === 'delete') {
    fields.only(DELETE_FIELDS);
    return { kind: 'mesh', op, type: parseResourceType(fields, 'type'), name: parseResourceName(fields, 'name') };
  }
  fields.only(APPLY_FIELDS);
  const items = fields.array('resources', MAX_APPLY_RESOURCES);
  const seen = new Set<ResourceKey>();
  const resources = items.map((item, i) => {
    const r = parseResourceInput(item, `command.resources[${i}]`, makeError);
    const key = resourceKey(r.kind, r.name);
    if (seen.has(key)) fields.fail(`${r.kind} ${JSON.stringify(r.name)} appears twice`);
    seen.add(key);
    return r;
  });
  return { kind: 'mesh', op, resources };
}

function namedList(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMED).join(', ');
  return names.length > MAX_NAMED ? `${shown} and ${names.length - MAX_NAMED} more` : shown;
}

export class MeshStore implements KindInstance<MeshCommand, MeshView>, MeshView {
  private readonly services = new Map<string, ServiceResource>();
  private readonly routes = new Map<string, RouteResource>();
  /** Derived: service name -> the routes naming it. Rebuilt on restore, never snapshotted. */
  private readonly referrers = new Map<string, Set<string>>();
  private sorted: readonly Resource[] | null = [];
  private last = 0;

  get view(): MeshView {
    return this;
  }

  get lastChange(): number {
    return this.last;
  }

  get size(): number {
    return this.services.size + this.routes.size;
  }

  list(): readonly Resource[] {
    this.sorted ??= [...this.routes.values(), ...this.services.values()].sort(compareResources);
    return this.sorted;
  }

  listOf(type: ResourceType): readonly Resource[] {
    return this.list().filter((r) => r.kind === type);
  }

  get(type: ResourceType, name: string): Resource | null {
    return (type === 'service' ? this.services.get(name) : this.routes.get(name)) ?? null;
  }

  routesNaming(service: string): readonly string[] {
    return [...(this.referrers.get(service) ?? [])].sort();
  }

  apply(command: MeshCommand, ctx: ApplyContext): ApplyResult {
    switch (command.op) {
      case 'apply':
        return this.applyList(command, ctx);
      case 'delete':
        return this.delete(command, ctx);
      default: {
        const never: never = command;
        return never;
      }
    }
  }

  private applyList(command: MeshApply, ctx: ApplyContext): ApplyResult {
    // Every check before any change: a refused list leaves no trace.
    const incoming = new Set(command.resources.filter((r) => r.kind === 'service').map((r) => r.name));
    const dangling: string[] = [];
    for (const r of command.resources) {
      if (r.kind !== 'route') continue;
      const missing = routeEnds(r.spec).filter((s) => !incoming.has(s) && !this.services.has(s));
      if (missing.length > 0) dangling.push(`route ${JSON.stringify(r.name)} names ${missing.map((s) => JSON.stringify(s)).join(' and ')}`);
    }
    if (dangling.length > 0) {
      return failure('CONFLICT', `nothing applied: services that would not exist: ${namedList(dangling)}`);
    }
    const actions = command.resources.map((r) => {
      const current = this.get(r.kind, r.name);
      const action: ApplyAction = current === null ? 'created' : contentKey(current) === contentKey(r) ? 'unchanged' : 'configured';
      return { kind: r.kind, name: r.name, action };
    });
    const outcome: MeshApplyOutcome = { results: actions };
    if (actions.every((a) => a.action === 'unchanged')) return okResult(ctx.revision, outcome);
    const revision = ctx.bump();
    for (const [i, r] of command.resources.entries()) {
      if (actions[i]!.action !== 'unchanged') this.put(r, revision);
    }
    this.last = revision;
    return okResult(revision, outcome);
  }

  private delete(command: MeshDelete, ctx: ApplyContext): ApplyResult {
    const current = this.get(command.type, command.name);
    if (current === null) return failure('NOT_FOUND', `${command.type} ${JSON.stringify(command.name)} does not exist`);
    if (command.type === 'service') {
      const routes = this.routesNaming(command.name);
      if (routes.length > 0) {
        return failure('CONFLICT', `service ${JSON.stringify(command.name)} is still named by route(s) ${namedList(routes.map((r) => JSON.stringify(r)))}; delete them first`);
      }
    }
    const revision = ctx.bump();
    this.remove(current);
    this.last = revision;
    return okResult(revision);
  }

  /** Spec and labels from the input; status is the cluster's and stays as it was. */
  private put(r: ResourceInput, revision: number): void {
    switch (r.kind) {
      case 'service': {
        const status = this.services.get(r.name)?.status ?? {};
        this.services.set(r.name, { kind: 'service', name: r.name, spec: r.spec, labels: r.labels, status, revision });
        break;
      }
      case 'route': {
        const old = this.routes.get(r.name);
        if (old !== undefined) this.unindex(old);
        const route: RouteResource = { kind: 'route', name: r.name, spec: r.spec, labels: r.labels, status: {}, revision };
        this.routes.set(r.name, route);
        this.index(route);
        break;
      }
      default: {
        const never: never = r;
        return never;
      }
    }
    this.sorted = null;
  }

  private remove(r: Resource): void {
    if (r.kind === 'service') this.services.delete(r.name);
    else {
      this.routes.delete(r.name);
      this.unindex(r);
    }
    this.sorted = null;
  }

  private index(route: RouteResource): void {
    for (const s of routeEnds(route.spec)) {
      let set = this.referrers.get(s);
      if (set === undefined) this.referrers.set(s, (set = new Set()));
      set.add(route.name);
    }
  }

  private unindex(route: RouteResource): void {
    for (const s of routeEnds(route.spec)) {
      const set = this.referrers.get(s);
      set?.delete(route.name);
      if (set?.size === 0) this.referrers.delete(s);
    }
  }

  snapshot(): unknown {
    return { lastChange: this.last, resources: this.list().map(resourceJson) };
  }

  restore(data: unknown): void {
    const makeError = (m: string): Error => new SnapshotError(m);
    const f = Fields.of(data, 'mesh', makeError).only(new Set(['lastChange', 'resources']));
    const last = f.int('lastChange', { min: 0 });
    let previous: Resource | null = null;
    for (const [i, item] of f.array('resources', Number.MAX_SAFE_INTEGER).entries()) {
      const r = parseResource(item, `mesh: resource ${i}`, makeError);
      if (previous !== null && compareResources(previous, r) >= 0) f.fail(`resources must be sorted and unique, found ${r.kind}/${r.name} after ${previous.kind}/${previous.name}`);
      if (r.revision > last) f.fail(`${r.kind}/${r.name} has revision ${r.revision}, after lastChange ${last}`);
      previous = r;
      if (r.kind === 'service') this.services.set(r.name, r);
      else {
        this.routes.set(r.name, r);
        this.index(r);
      }
    }
    for (const r of this.routes.values()) {
      for (const s of routeEnds(r.spec)) if (!this.services.has(s)) f.fail(`route ${JSON.stringify(r.name)} names service ${JSON.stringify(s)}, which is not in the snapshot`);
    }
    this.last = last;
    this.sorted = null;
  }
}

export const meshKind: ResourceKind<MeshCommand, MeshView> = {
  name: MESH_KIND,
  parse: parseMesh,
  create: () => new MeshStore(),
};
