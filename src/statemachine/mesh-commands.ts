/**
 * The mesh kind's commands and their parsing (the one gate a command from the log passes).
 *
 * - `apply` and `delete` come from operators (`ctl apply`, `ctl delete`);
 * - `report` comes from controllers (Mesh.ReportMesh): what their agents publish (`hosts`, with
 *   the agent's declared dependencies), which names they resolved (`/resolve` misses and hits),
 *   and, from the leader, endpoint health to re-read and dependencies to expire.
 *
 * Every command may carry `at`: the proposing leader's wall clock (ms since the epoch), stamped
 * when it proposes. It is the only time apply knows (the applying node's clock would make
 * replicas diverge); the kind keeps the largest `at` seen as its clock (MeshStore.clock).
 */
import { CommandError } from './errors.js';
import { Fields, describe, type ErrorFactory } from '../util/untrusted.js';
import { MAX_AGENT_NAMES, MAX_SESSION_BYTES, parseAgentId, parseNames } from './agent-records.js';
import { MAX_MEMBER_ID_BYTES } from './members.js';
import {
  MAX_APPLY_RESOURCES,
  parseLabels,
  parseResourceInput,
  parseResourceName,
  parseResourceType,
  parseServiceSpec,
  resourceKey,
  type HostedService,
  type ResourceInput,
  type ResourceKey,
  type ResourceType,
} from './mesh-types.js';
import { commandFields } from './resource-kind.js';

export interface MeshApply {
  readonly kind: 'mesh';
  readonly op: 'apply';
  readonly resources: readonly ResourceInput[];
  readonly at?: number;
}

export interface MeshDelete {
  readonly kind: 'mesh';
  readonly op: 'delete';
  /** The resource's kind (the envelope's `kind` names the state-machine kind). */
  readonly type: ResourceType;
  readonly name: string;
  readonly at?: number;
}

/** An agent's whole declaration, sent on every (re)connect: what it hosts and what it depends on. */
export interface PublishEntry {
  readonly agent: string;
  /** The stream that claimed the agent (agents kind); a publish from any other stream is stale. */
  readonly session: string;
  readonly lazy: boolean;
  /** Sorted by name. */
  readonly hosts: readonly HostedService[];
  /** Static dependencies (agent.yaml), sorted. */
  readonly dependencies: readonly string[];
}

/** Names an agent resolved: `missed` were not in its configuration, `used` were (observed dependencies in use). */
export interface UsageEntry {
  readonly agent: string;
  readonly missed: readonly string[];
  readonly used: readonly string[];
}

export interface MeshReport {
  readonly kind: 'mesh';
  readonly op: 'report';
  /** The controller that sends it. */
  readonly controller: string;
  readonly publish: readonly PublishEntry[];
  readonly usage: readonly UsageEntry[];
  /** Agents whose endpoints' health is to be re-read from their committed status (leader). */
  readonly health: readonly string[];
  /** Judge every observed dependency's age against agents.dependency_ttl (leader). */
  readonly expire: boolean;
  /**
   * Agents whose records the agents kind has forgotten (leader): their declarations and endpoints
   * go too. Absent unless non-empty, and sent only in a cluster at FORGET_AGENTS_VERSION, so an
   * older member never meets the field.
   */
  readonly forget?: readonly string[];
  /**
   * Services agents published that no agent has listed for the leader's grace (mesh-duties.ts):
   * each is removed if, at this entry, it is still an agent's, unlisted and named by no route.
   * Absent unless non-empty, and sent only in a cluster at SERVICE_OWNERSHIP_VERSION.
   */
  readonly expireServices?: readonly string[];
  readonly at?: number;
}

export type MeshCommand = MeshApply | MeshDelete | MeshReport;

/** Bounds of one report: one Raft entry must stay far below the message limit. */
export const MAX_REPORT_PUBLISHES = 1_000;
export const MAX_REPORT_HOSTS = 5_000;
export const MAX_REPORT_USAGE = 1_000;
/** Names per list of a usage entry (and per usage message from an agent). */
export const MAX_USAGE_NAMES = 256;
export const MAX_REPORT_HEALTH = 10_000;
/** Services one report may ask to expire (the rest wait for the next one). */
export const MAX_REPORT_EXPIRIES = 1_000;
/** The latest `at` accepted: the year 2255, far beyond any real clock, below 2^53. */
export const MAX_AT_MS = 9_000_000_000_000;

const FIELDS = {
  apply: commandFields('op', 'resources', 'at'),
  delete: commandFields('op', 'type', 'name', 'at'),
  report: commandFields('op', 'controller', 'publish', 'usage', 'health', 'expire', 'forget', 'expireServices', 'at'),
} as const;

const makeError: ErrorFactory = (m) => new CommandError(m);

function parseAt(fields: Fields): { at?: number } {
  return fields.has('at') ? { at: fields.int('at', { min: 0, max: MAX_AT_MS }) } : {};
}

export function parseMeshCommand(fields: Fields): MeshCommand {
  const op = fields.oneOf('op', ['apply', 'delete', 'report'] as const);
  fields.only(FIELDS[op]);
  switch (op) {
    case 'delete':
      return { kind: 'mesh', op, type: parseResourceType(fields, 'type'), name: parseResourceName(fields, 'name'), ...parseAt(fields) };
    case 'apply': {
      const items = fields.array('resources', MAX_APPLY_RESOURCES);
      const seen = new Set<ResourceKey>();
      const resources = items.map((item, i) => {
        const r = parseResourceInput(item, `command.resources[${i}]`, makeError);
        const key = resourceKey(r.kind, r.name);
        if (seen.has(key)) fields.fail(`${r.kind} ${JSON.stringify(r.name)} appears twice`);
        seen.add(key);
        return r;
      });
      return { kind: 'mesh', op, resources, ...parseAt(fields) };
    }
    case 'report':
      return parseReport(fields);
    default: {
      const never: never = op;
      return never;
    }
  }
}

function parseReport(fields: Fields): MeshReport {
  const controller = fields.string('controller', { nonEmpty: true, maxBytes: MAX_MEMBER_ID_BYTES });
  let hosts = 0;
  const published = new Set<string>();
  const publish = (fields.has('publish') ? fields.array('publish', MAX_REPORT_PUBLISHES) : []).map((item, i) => {
    const e = parsePublishEntry(item, `command.publish[${i}]`);
    if (published.has(e.agent)) fields.fail(`agent ${JSON.stringify(e.agent)} publishes twice in one report`);
    published.add(e.agent);
    hosts += e.hosts.length;
    if (hosts > MAX_REPORT_HOSTS) fields.fail(`a report publishes at most ${MAX_REPORT_HOSTS} services in all`);
    return e;
  });
  const used = new Set<string>();
  const usage = (fields.has('usage') ? fields.array('usage', MAX_REPORT_USAGE) : []).map((item, i) => {
    const e = parseUsageEntry(item, `command.usage[${i}]`);
    if (used.has(e.agent)) fields.fail(`agent ${JSON.stringify(e.agent)} has two usage entries in one report`);
    used.add(e.agent);
    return e;
  });
  const health = fields.has('health') ? parseAgentIds(fields.array('health', MAX_REPORT_HEALTH), 'command.health') : [];
  const expire = fields.has('expire') ? fields.boolean('expire') : false;
  const forget = fields.has('forget') ? parseAgentIds(fields.array('forget', MAX_REPORT_HEALTH), 'command.forget') : [];
  const expireServices = fields.has('expireServices') ? parseServiceNames(fields.array('expireServices', MAX_REPORT_EXPIRIES), 'command.expireServices') : [];
  return {
    kind: 'mesh',
    op: 'report',
    controller,
    publish,
    usage,
    health,
    expire,
    ...(forget.length > 0 ? { forget } : {}),
    ...(expireServices.length > 0 ? { expireServices } : {}),
    ...parseAt(fields),
  };
}

function parseServiceNames(items: readonly unknown[], where: string): string[] {
  return items.map((name, i) => parseResourceName(Fields.of({ name }, `${where}[${i}]`, makeError), 'name'));
}

function parseAgentIds(items: readonly unknown[], where: string): string[] {
  return items.map((id, i) => parseAgentId(Fields.of({ id }, `${where}[${i}]`, makeError), 'id'));
}

const PUBLISH_FIELDS = new Set(['agent', 'session', 'lazy', 'hosts', 'dependencies']);
const HOST_FIELDS = new Set(['name', 'spec', 'labels']);

/** One hosted service, as agent.yaml and a hello carry it. */
export function parseHostedService(value: unknown, where: string, errors: ErrorFactory = makeError): HostedService {
  const f = Fields.of(value, where, errors).only(HOST_FIELDS);
  const name = parseResourceName(f, 'name');
  const at = `${where} (service ${JSON.stringify(name)})`;
  if (!f.has('spec')) throw errors(`${at}: field "spec" is required`);
  return { name, spec: parseServiceSpec(f.raw['spec'], `${at}: spec`, errors), labels: parseLabels(f.raw['labels'], `${at}: labels`, errors) };
}

/** A list of hosted services, sorted by name, each name once. */
export function parseHostedServices(value: unknown, where: string, errors: ErrorFactory = makeError): readonly HostedService[] {
  if (!Array.isArray(value)) throw errors(`${where}: expected a list of { name, spec, labels }, found ${describe(value)}`);
  if (value.length > MAX_AGENT_NAMES) throw errors(`${where}: expected at most ${MAX_AGENT_NAMES} services, found ${value.length}`);
  const hosts = (value as readonly unknown[]).map((item, i) => parseHostedService(item, `${where}[${i}]`, errors));
  hosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < hosts.length; i++) if (hosts[i - 1]!.name === hosts[i]!.name) throw errors(`${where}: service ${JSON.stringify(hosts[i]!.name)} is listed twice`);
  return hosts;
}

function parsePublishEntry(value: unknown, where: string): PublishEntry {
  const f = Fields.of(value, where, makeError).only(PUBLISH_FIELDS);
  return {
    agent: parseAgentId(f, 'agent'),
    session: f.string('session', { nonEmpty: true, maxBytes: MAX_SESSION_BYTES }),
    lazy: f.boolean('lazy'),
    hosts: parseHostedServices(f.raw['hosts'], `${where}.hosts`),
    dependencies: parseNames(f.raw['dependencies'], `${where}.dependencies`, MAX_AGENT_NAMES),
  };
}

function parseUsageEntry(value: unknown, where: string): UsageEntry {
  const f = Fields.of(value, where, makeError).only(new Set(['agent', 'missed', 'used']));
  return {
    agent: parseAgentId(f, 'agent'),
    missed: parseNames(f.raw['missed'] ?? [], `${where}.missed`, MAX_USAGE_NAMES),
    used: parseNames(f.raw['used'] ?? [], `${where}.used`, MAX_USAGE_NAMES),
  };
}
