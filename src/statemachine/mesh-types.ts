/**
 * The resources of the data plane, as the cluster stores them and agents receive them: services
 * (a protocol and ports) and routes (from one service to another). One type per concept from
 * the resources file to the agent's --out file. The parse functions are the one gate untrusted
 * input (a YAML file, a command in the log, a snapshot, a push on an agent) passes through; each
 * names the resource and field it refuses.
 */
import { Fields, describe, isRecord, utf8Exceeds, type ErrorFactory } from '../util/untrusted.js';

export const RESOURCE_TYPES = ['route', 'service'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const MAX_RESOURCE_NAME_BYTES = 253;
export const MAX_LABELS = 64;
export const MAX_LABEL_KEY_BYTES = 253;
export const MAX_LABEL_VALUE_BYTES = 256;
export const MAX_PORTS = 64;
export const MAX_PROTOCOL_BYTES = 32;
/** Resources in one apply: one Raft entry must stay well below the message limit. */
export const MAX_APPLY_RESOURCES = 5_000;
/** Agents listed as a service's endpoints; a publish beyond this is refused for that service. */
export const MAX_ENDPOINTS = 1_024;
export const MAX_AGENT_ID_BYTES = 253;
/** Agent ids are often certificate identities: host names, e-mail-like or URN-like strings. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$/;

/** DNS-like, so a name can later become a host name: lower case, digits, '-' and '.'. */
export const RESOURCE_NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const LABEL_KEY_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
/** Any protocol name is accepted (agents judge what they support); it must look like one. */
export const PROTOCOL_PATTERN = /^[a-z][a-z0-9.+-]*$/;

export interface ServiceSpec {
  readonly protocol: string;
  readonly ports: readonly number[];
}

export interface RouteSpec {
  readonly from: string;
  readonly to: string;
}

export type Labels = Readonly<Record<string, string>>;

/** A service as an agent publishes it (agent.yaml `hosts`): the service's name, spec and labels. */
export interface HostedService {
  readonly name: string;
  readonly spec: ServiceSpec;
  readonly labels: Labels;
}

/** An agent that publishes (hosts) a service; unhealthy while the health layer has it offline. */
export interface Endpoint {
  readonly agent: string;
  readonly healthy: boolean;
}

/**
 * Status the cluster owns: a publish or an apply never writes it. `vip` is allocated when the
 * service is created and kept for its life; `endpoints` (sorted by agent) are the agents that
 * publish it, absent when none does.
 */
export interface ServiceStatus {
  readonly vip?: string;
  readonly endpoints?: readonly Endpoint[];
}
export type RouteStatus = Readonly<Record<string, never>>;

interface ResourceBase {
  readonly name: string;
  readonly labels: Labels;
}
export interface ServiceInput extends ResourceBase {
  readonly kind: 'service';
  readonly spec: ServiceSpec;
}
export interface RouteInput extends ResourceBase {
  readonly kind: 'route';
  readonly spec: RouteSpec;
}
/** A resource as an operator writes it: no status, no revision. */
export type ResourceInput = ServiceInput | RouteInput;

interface Stored {
  /** The cluster revision of the resource's last change (spec, labels or status). */
  readonly revision: number;
}
export interface ServiceResource extends ServiceInput, Stored {
  readonly status: ServiceStatus;
}
export interface RouteResource extends RouteInput, Stored {
  readonly status: RouteStatus;
}
/** A resource as the cluster holds it and pushes it to agents. */
export type Resource = ServiceResource | RouteResource;

/** `service/web`: the identity of a resource, and the order resources are listed and pushed in. */
export type ResourceKey = string;

export function resourceKey(kind: ResourceType, name: string): ResourceKey {
  return `${kind}/${name}`;
}

/** Sort order of resources everywhere (by kind, then name): an unchanged set is always the same list. */
export function compareResources(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The services a route names. */
export function routeEnds(spec: RouteSpec): readonly string[] {
  return spec.from === spec.to ? [spec.from] : [spec.from, spec.to];
}

function quoteName(name: unknown): string {
  return typeof name === 'string' && name.length <= 80 ? JSON.stringify(name) : describe(name);
}

export function parseResourceName(f: Fields, key: string): string {
  const name = f.string(key, { nonEmpty: true, maxBytes: MAX_RESOURCE_NAME_BYTES });
  if (!RESOURCE_NAME_PATTERN.test(name)) {
    f.fail(`field "${key}" must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, found ${quoteName(name)}`);
  }
  return name;
}

export function parseResourceType(f: Fields, key: string): ResourceType {
  return f.oneOf(key, RESOURCE_TYPES);
}

/** Labels with keys in sorted order, so equal labels are equal JSON. */
export function parseLabels(value: unknown, where: string, makeError: ErrorFactory): Labels {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw makeError(`${where}: expected a mapping of label names to strings, found ${describe(value)}`);
  const keys = Object.keys(value).sort();
  if (keys.length > MAX_LABELS) throw makeError(`${where}: expected at most ${MAX_LABELS} labels, found ${keys.length}`);
  const out: Record<string, string> = {};
  for (const k of keys) {
    if (utf8Exceeds(k, MAX_LABEL_KEY_BYTES) || !LABEL_KEY_PATTERN.test(k)) {
      throw makeError(`${where}: label name ${quoteName(k)} must be letters, digits, '.', '_', '/' or '-' (at most ${MAX_LABEL_KEY_BYTES} bytes)`);
    }
    const v = value[k];
    if (typeof v !== 'string') throw makeError(`${where}: label "${k}" must be a string, found ${describe(v)}`);
    if (utf8Exceeds(v, MAX_LABEL_VALUE_BYTES)) throw makeError(`${where}: label "${k}" must be at most ${MAX_LABEL_VALUE_BYTES} bytes`);
    out[k] = v;
  }
  return out;
}

// The allowed keys of each shape, built once: parsing runs for every resource of every push.
const SERVICE_SPEC_FIELDS: ReadonlySet<string> = new Set(['protocol', 'ports']);
const ROUTE_SPEC_FIELDS: ReadonlySet<string> = new Set(['from', 'to']);
const SERVICE_STATUS_FIELDS: ReadonlySet<string> = new Set(['vip', 'endpoints']);
const ENDPOINT_FIELDS: ReadonlySet<string> = new Set(['agent', 'healthy']);
const NO_FIELDS: ReadonlySet<string> = new Set();

export function parseServiceSpec(value: unknown, where: string, makeError: ErrorFactory): ServiceSpec {
  const f: Fields = Fields.of(value, where, makeError).only(SERVICE_SPEC_FIELDS);
  const protocol = f.string('protocol', { nonEmpty: true, maxBytes: MAX_PROTOCOL_BYTES });
  if (!PROTOCOL_PATTERN.test(protocol)) f.fail(`field "protocol" must be a lower-case protocol name such as http or tcp, found ${quoteName(protocol)}`);
  const raw = f.has('ports') ? f.array('ports', MAX_PORTS) : [];
  const seen = new Set<number>();
  const ports = raw.map((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) f.fail(`ports[${i}] must be a port number in [1, 65535], found ${describe(p)}`);
    if (seen.has(p)) f.fail(`port ${p} is listed twice`);
    seen.add(p);
    return p;
  });
  return { protocol, ports };
}

export function parseRouteSpec(value: unknown, where: string, makeError: ErrorFactory): RouteSpec {
  const f = Fields.of(value, where, makeError).only(ROUTE_SPEC_FIELDS);
  return { from: parseResourceName(f, 'from'), to: parseResourceName(f, 'to') };
}

const INPUT_FIELDS = new Set(['kind', 'name', 'spec', 'labels']);

/** One `{ kind, name, spec, labels }` item of a resources file or an apply command. */
export function parseResourceInput(value: unknown, where: string, makeError: ErrorFactory): ResourceInput {
  return inputFields(Fields.of(value, where, makeError).only(INPUT_FIELDS), where, makeError);
}

/** The input fields of an item whose field names are already checked. */
function inputFields(f: Fields, where: string, makeError: ErrorFactory): ResourceInput {
  const kind = parseResourceType(f, 'kind');
  const name = parseResourceName(f, 'name');
  const at = `${where} (${kind} ${JSON.stringify(name)})`;
  const labels = parseLabels(f.raw['labels'], `${at}: labels`, makeError);
  if (!f.has('spec')) throw makeError(`${at}: field "spec" is required`);
  switch (kind) {
    case 'service':
      return { kind, name, spec: parseServiceSpec(f.raw['spec'], `${at}: spec`, makeError), labels };
    case 'route':
      return { kind, name, spec: parseRouteSpec(f.raw['spec'], `${at}: spec`, makeError), labels };
    default: {
      const never: never = kind;
      return never;
    }
  }
}

const RESOURCE_FIELDS = new Set(['kind', 'name', 'spec', 'labels', 'status', 'revision']);

/**
 * A stored resource (from a snapshot, a push, an --out file): the input plus status and revision.
 * It runs for every resource of every push an agent receives, so no object rest or spread: V8
 * copies those field by field through a generic path, and they were most of its cost.
 */
export function parseResource(value: unknown, where: string, makeError: ErrorFactory): Resource {
  const f = Fields.of(value, where, makeError).only(RESOURCE_FIELDS);
  const rawStatus = f.raw['status'];
  const input = inputFields(f, where, makeError);
  const revision = f.int('revision', { min: 1 });
  switch (input.kind) {
    case 'service':
      return { kind: input.kind, name: input.name, spec: input.spec, labels: input.labels, status: parseServiceStatus(rawStatus ?? {}, `${where}: status`, makeError), revision };
    case 'route':
      Fields.of(rawStatus ?? {}, `${where}: status`, makeError).only(NO_FIELDS);
      return { kind: input.kind, name: input.name, spec: input.spec, labels: input.labels, status: {}, revision };
    default: {
      const never: never = input;
      return never;
    }
  }
}

function parseServiceStatus(value: unknown, where: string, makeError: ErrorFactory): ServiceStatus {
  const s = Fields.of(value, where, makeError).only(SERVICE_STATUS_FIELDS);
  const vip = s.has('vip') ? s.string('vip', { nonEmpty: true, maxBytes: 64 }) : undefined;
  if (vip !== undefined && !/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(vip)) s.fail(`field "vip" must be an IPv4 address, found ${quoteName(vip)}`);
  let previous: string | null = null;
  const endpoints = s.has('endpoints')
    ? s.array('endpoints', MAX_ENDPOINTS).map((item, i) => {
        const e = Fields.of(item, `${where}: endpoints[${i}]`, makeError).only(ENDPOINT_FIELDS);
        const agent = e.string('agent', { nonEmpty: true, maxBytes: MAX_AGENT_ID_BYTES });
        if (!AGENT_ID_PATTERN.test(agent)) e.fail(`field "agent" must be an agent id, found ${quoteName(agent)}`);
        if (previous !== null && !(previous < agent)) e.fail(`endpoints must be sorted by agent without repeats, found ${quoteName(agent)} after ${quoteName(previous)}`);
        previous = agent;
        return { agent, healthy: e.boolean('healthy') };
      })
    : [];
  return statusOf(vip, endpoints);
}

/**
 * A service status with only the fields that have a value (so equal statuses are equal JSON).
 * Literals, not spreads: it runs for every service of every push an agent receives.
 */
export function statusOf(vip: string | undefined, endpoints: readonly Endpoint[]): ServiceStatus {
  if (endpoints.length === 0) return vip === undefined ? {} : { vip };
  return vip === undefined ? { endpoints } : { vip, endpoints };
}

/** Spec and labels as one string: equal strings mean an apply would change nothing. */
export function contentKey(r: ResourceInput): string {
  return JSON.stringify([canonicalSpec(r), r.labels]);
}

/** The spec with fields in a fixed order, whatever order the input had. */
export function canonicalSpec(r: ResourceInput): ServiceSpec | RouteSpec {
  switch (r.kind) {
    case 'service':
      return { protocol: r.spec.protocol, ports: [...r.spec.ports] };
    case 'route':
      return { from: r.spec.from, to: r.spec.to };
    default: {
      const never: never = r;
      return never;
    }
  }
}

/** A stored resource as plain JSON with fields in the contract's order (kind, name, spec, labels, status, revision). */
export function resourceJson(r: Resource): Resource {
  switch (r.kind) {
    case 'service':
      return {
        kind: r.kind,
        name: r.name,
        spec: { protocol: r.spec.protocol, ports: [...r.spec.ports] },
        labels: { ...r.labels },
        status: statusOf(r.status.vip, (r.status.endpoints ?? []).map((e) => ({ agent: e.agent, healthy: e.healthy }))),
        revision: r.revision,
      };
    case 'route':
      return { kind: r.kind, name: r.name, spec: { from: r.spec.from, to: r.spec.to }, labels: { ...r.labels }, status: {}, revision: r.revision };
    default: {
      const never: never = r;
      return never;
    }
  }
}
