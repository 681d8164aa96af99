/**
 * AgentSync messages between their proto form (proto/agent.proto, as proto-loader decodes it:
 * camelCase, defaults filled, enums by name, uint64 as number) and the core's types
 * (protocol.ts). Decoding trusts nothing: every field is checked, every list and string is
 * bounded, and a failure is a MalformedMessageError naming the field.
 */
import { jsonDepthPast, MAX_JSON_DEPTH } from '../util/json-depth.js';
import {
  Fields,
  MAX_RESOURCE_NAME_BYTES,
  MAX_USAGE_NAMES,
  RESOURCE_TYPES,
  parseAgentId,
  parseAgentInfo,
  parseEpoch,
  parseHostedServices,
  parseNames,
  parseResource,
  resourceJson,
  type ErrorFactory,
  type Resource,
  type ResourceKey,
} from '../statemachine/index.js';
import { MalformedMessageError } from './errors.js';
import { encodedBytes, MAX_PUBLISH_BYTES } from './report-budget.js';
import type { ManifestEntry } from './manifest.js';
import type { AgentMessage, ControllerMessage, Push } from './protocol.js';
import type { PushPlan } from './push-planner.js';
import { bodySlices } from './push-parts.js';
import { encodeAgentReply, encodeControllerWire, encodePushShared, withNonce, type AgentFrame, type ControllerFrame } from './sync-codec.js';

/** Resources in one configuration; far above any real one, low enough to bound what one agent can make us parse. */
export const MAX_CONFIG_RESOURCES = 100_000;
export const MAX_NACK_ERROR_CHARS = 64 * 1024;
/**
 * A usage body: two lists of at most MAX_USAGE_NAMES names of at most MAX_RESOURCE_NAME_BYTES
 * (131 KB as our agent writes it), with room to spare for another agent's spacing.
 */
export const MAX_USAGE_BODY_BYTES = 512 * 1024;

export type AgentMessageTypeName = 'AGENT_MESSAGE_UNSPECIFIED' | 'AGENT_MESSAGE_HELLO' | 'AGENT_MESSAGE_ACK' | 'AGENT_MESSAGE_NACK' | 'AGENT_MESSAGE_PONG' | 'AGENT_MESSAGE_USAGE';
export type ControllerMessageTypeName = 'CONTROLLER_MESSAGE_UNSPECIFIED' | 'CONTROLLER_MESSAGE_WELCOME' | 'CONTROLLER_MESSAGE_PUSH' | 'CONTROLLER_MESSAGE_PING' | 'CONTROLLER_MESSAGE_PUSH_PART';

/** proto/agent.proto AgentMessage as proto-loader hands it over. */
export interface AgentMessageWire {
  readonly type: AgentMessageTypeName | number;
  readonly agentId: string;
  readonly clusterId: string;
  readonly hasConfig: boolean;
  readonly version: number;
  readonly nonce: number;
  readonly error: string;
  readonly seq: number;
  readonly body: Uint8Array;
  readonly rejectedVersion: number;
  /** A hello: the agent takes a big push in parts (push-parts.ts); false from agents before them. */
  readonly pushParts: boolean;
  /** A hello: the cluster.name its configuration came from; '' when none is held or from agents before the field. */
  readonly clusterName: string;
  /** A hello: it takes no other cluster id under that name from this controller (protocol.ts, Hello); absent: false. */
  readonly heldClusterOnly?: boolean;
}

export interface ControllerMessageWire {
  readonly type: ControllerMessageTypeName | number;
  readonly controller: string;
  readonly clusterId: string;
  readonly session: string;
  readonly pingIntervalMs: number;
  readonly timeoutMs: number;
  readonly nonce: number;
  readonly version: number;
  readonly full: boolean;
  readonly baseVersion: number;
  readonly body: Uint8Array;
  readonly seq: number;
  /** A push: how many PUSH_PART messages just before it carry the start of its body (push-parts.ts). */
  readonly parts: number;
  /** A welcome: the cluster's cluster.name; '' from controllers before it was sent. */
  readonly clusterName: string;
}

const HELLO_KEYS: ReadonlySet<string> = new Set(['epoch', 'info', 'manifest', 'hosts']);
const USAGE_KEYS: ReadonlySet<string> = new Set(['missed', 'used']);
const PUSH_KEYS: ReadonlySet<string> = new Set(['upserts', 'removes']);

const malformed: ErrorFactory = (m) => new MalformedMessageError(m);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Below this size a text is parsed without scanning its depth first. The scan bounds the time
 * JSON.parse takes on a deep text (seconds for megabytes of '['); 4 KiB of '[' parses in about
 * 0.3 ms, within what a flat text of the largest message costs, and no message's shape nests
 * past a few levels, so a deeper small text is refused by the checks after the parse. Every push
 * an agent takes is small: the scan was an eighth of decoding one.
 */
const DEPTH_SCAN_FROM_BYTES = 4096;

function parseJson(body: Uint8Array, what: string): unknown {
  try {
    const text = utf8.decode(body);
    if (body.byteLength >= DEPTH_SCAN_FROM_BYTES && jsonDepthPast(text) !== null) throw new MalformedMessageError(`${what}: expected JSON nested at most ${MAX_JSON_DEPTH} levels deep, found deeper`);
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof MalformedMessageError) throw err;
    throw new MalformedMessageError(`${what}: expected UTF-8 JSON, found ${body.byteLength} bytes that are not (${(err as Error).message})`);
  }
}

function record(value: unknown, what: string): Fields {
  return Fields.of(value, what, malformed);
}

const KEY_PATTERN = new RegExp(`^(${RESOURCE_TYPES.join('|')})/[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`);

function parseKey(value: unknown, where: string): ResourceKey {
  if (typeof value !== 'string' || value.length > MAX_RESOURCE_NAME_BYTES + 10 || !KEY_PATTERN.test(value)) {
    throw new MalformedMessageError(`${where}: expected a resource key such as service/web, found ${String(JSON.stringify(value)).slice(0, 80)}`);
  }
  return value;
}

function parseManifest(value: unknown, version: number): ManifestEntry[] {
  if (!Array.isArray(value)) throw new MalformedMessageError('hello.manifest: expected a list of [key, revision]');
  if (value.length > MAX_CONFIG_RESOURCES) throw new MalformedMessageError(`hello.manifest: expected at most ${MAX_CONFIG_RESOURCES} entries, found ${value.length}`);
  return (value as readonly unknown[]).map((item, i) => {
    if (!Array.isArray(item) || item.length !== 2) throw new MalformedMessageError(`hello.manifest[${i}]: expected [key, revision]`);
    const [key, revision] = item as readonly unknown[];
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1 || revision > version) {
      throw new MalformedMessageError(`hello.manifest[${i}]: expected a revision in [1, ${version}], found ${String(revision)}`);
    }
    return { key: parseKey(key, `hello.manifest[${i}][0]`), revision };
  });
}

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new MalformedMessageError(`${what}: expected a whole number, found ${String(value)}`);
  return value;
}

// ---- agent -> controller ---------------------------------------------------------------------------

export function decodeAgentMessage(w: AgentMessageWire): AgentMessage {
  switch (w.type) {
    case 'AGENT_MESSAGE_HELLO': {
      const f = record({ agentId: w.agentId }, 'hello');
      const agentId = parseAgentId(f, 'agentId');
      const version = count(w.version, 'hello.version');
      const body = record(parseJson(w.body, 'hello.body'), 'hello.body').only(HELLO_KEYS);
      if (w.clusterId.length > 256) throw new MalformedMessageError('hello.clusterId: expected at most 256 characters');
      if (w.clusterName.length > 256) throw new MalformedMessageError('hello.clusterName: expected at most 256 characters');
      const info = parseAgentInfo(body.raw['info'], 'hello.info', malformed);
      const hosts = parseHostedServices(body.raw['hosts'] ?? [], 'hello.hosts', malformed);
      // A publish goes through Raft in one report: it must fit one (report-budget.ts).
      const publishBytes = encodedBytes(hosts);
      if (publishBytes > MAX_PUBLISH_BYTES) throw new MalformedMessageError(`hello.hosts: the services published take ${publishBytes} bytes encoded, expected at most ${MAX_PUBLISH_BYTES}`);
      const names = hosts.map((h) => h.name);
      if (names.length !== info.hosts.length || names.some((n, i) => n !== info.hosts[i])) {
        throw new MalformedMessageError(`hello.hosts: the services published (${names.join(', ') || 'none'}) must be those info.hosts names (${info.hosts.join(', ') || 'none'})`);
      }
      return {
        type: 'hello',
        agentId,
        clusterId: w.clusterId,
        clusterName: w.clusterName,
        hasConfig: w.hasConfig,
        version,
        manifest: w.hasConfig ? parseManifest(body.raw['manifest'] ?? [], version) : [],
        epoch: parseEpoch(body.raw['epoch'], 'hello.epoch', malformed),
        info,
        hosts,
        rejectedVersion: w.rejectedVersion === 0 ? null : count(w.rejectedVersion, 'hello.rejectedVersion'),
        pushParts: w.pushParts,
        ...(w.heldClusterOnly === true ? { heldClusterOnly: true } : {}),
      };
    }
    case 'AGENT_MESSAGE_USAGE': {
      // Checked before the parse: a body of megabytes is refused for what it cannot hold.
      if (w.body.byteLength > MAX_USAGE_BODY_BYTES) throw new MalformedMessageError(`usage.body: expected at most ${MAX_USAGE_BODY_BYTES} bytes (${MAX_USAGE_NAMES} names of each kind), found ${w.body.byteLength}`);
      const body = record(parseJson(w.body, 'usage.body'), 'usage.body').only(USAGE_KEYS);
      return {
        type: 'usage',
        missed: parseNames(body.raw['missed'] ?? [], 'usage.missed', MAX_USAGE_NAMES, malformed),
        used: parseNames(body.raw['used'] ?? [], 'usage.used', MAX_USAGE_NAMES, malformed),
      };
    }
    case 'AGENT_MESSAGE_ACK':
      return { type: 'ack', nonce: count(w.nonce, 'ack.nonce'), version: count(w.version, 'ack.version') };
    case 'AGENT_MESSAGE_NACK':
      // Cut here already: the tracker cuts to the record's limit; this bounds what we hold at all.
      return { type: 'nack', nonce: count(w.nonce, 'nack.nonce'), version: count(w.version, 'nack.version'), error: w.error.slice(0, MAX_NACK_ERROR_CHARS) };
    case 'AGENT_MESSAGE_PONG':
      return { type: 'pong', seq: count(w.seq, 'pong.seq') };
    case 'AGENT_MESSAGE_UNSPECIFIED':
    default:
      throw new MalformedMessageError(`expected a message type HELLO, ACK, NACK, PONG or USAGE, found ${JSON.stringify(w.type)}`);
  }
}

const EMPTY = new Uint8Array(0);

function agentWire(type: AgentMessageTypeName, fields: Partial<AgentMessageWire>): AgentMessageWire {
  return { type, agentId: '', clusterId: '', hasConfig: false, version: 0, nonce: 0, error: '', seq: 0, body: EMPTY, rejectedVersion: 0, pushParts: false, clusterName: '', heldClusterOnly: false, ...fields };
}

export function encodeAgentMessage(m: AgentMessage): AgentMessageWire {
  switch (m.type) {
    case 'hello': {
      const body = { epoch: m.epoch, info: m.info, manifest: m.manifest.map((e) => [e.key, e.revision]), hosts: m.hosts };
      return agentWire('AGENT_MESSAGE_HELLO', {
        agentId: m.agentId,
        clusterId: m.clusterId,
        clusterName: m.clusterName,
        hasConfig: m.hasConfig,
        version: m.version,
        body: encoder.encode(JSON.stringify(body)),
        rejectedVersion: m.rejectedVersion ?? 0,
        pushParts: m.pushParts,
        heldClusterOnly: m.heldClusterOnly === true,
      });
    }
    case 'ack':
      return agentWire('AGENT_MESSAGE_ACK', { nonce: m.nonce, version: m.version });
    case 'nack':
      return agentWire('AGENT_MESSAGE_NACK', { nonce: m.nonce, version: m.version, error: m.error });
    case 'pong':
      return agentWire('AGENT_MESSAGE_PONG', { seq: m.seq });
    case 'usage':
      return agentWire('AGENT_MESSAGE_USAGE', { body: encoder.encode(JSON.stringify({ missed: m.missed, used: m.used })) });
    default: {
      const never: never = m;
      return never;
    }
  }
}

/**
 * What the agent writes: an ACK or a pong straight to its bytes (sync-codec.ts; one per push and
 * per ping), anything else as the message (encoded by the stream).
 */
export function encodeAgentFrame(m: AgentMessage): AgentFrame {
  if (m.type === 'ack') return encodeAgentReply(2, m.version, m.nonce, 0);
  if (m.type === 'pong') return encodeAgentReply(4, 0, 0, m.seq);
  return encodeAgentMessage(m);
}

// ---- controller -> agent ---------------------------------------------------------------------------

/** A push's body, encoded once per plan however many agents it goes to. */
const encodedBodies = new WeakMap<PushPlan, Uint8Array>();

export function pushBody(plan: PushPlan): Uint8Array {
  let body = encodedBodies.get(plan);
  if (body === undefined) {
    body = encoder.encode(JSON.stringify({ upserts: plan.upserts.map(resourceJson), removes: plan.removes }));
    encodedBodies.set(plan, body);
  }
  return body;
}

/** A body encoded elsewhere (plan-job.ts: in steps), the same bytes pushBody would write; kept as its own. */
export function rememberPushBody(plan: PushPlan, body: Uint8Array): void {
  encodedBodies.set(plan, body);
}

function controllerWire(type: ControllerMessageTypeName, fields: Partial<ControllerMessageWire>): ControllerMessageWire {
  return { type, controller: '', clusterId: '', session: '', pingIntervalMs: 0, timeoutMs: 0, nonce: 0, version: 0, full: false, baseVersion: 0, body: EMPTY, seq: 0, parts: 0, clusterName: '', ...fields };
}

export function encodeControllerMessage(m: ControllerMessage): ControllerMessageWire {
  switch (m.type) {
    case 'welcome':
      return controllerWire('CONTROLLER_MESSAGE_WELCOME', { controller: m.controller, clusterId: m.clusterId, clusterName: m.clusterName, session: m.session, pingIntervalMs: m.pingIntervalMs, timeoutMs: m.timeoutMs });
    case 'push':
      return controllerWire('CONTROLLER_MESSAGE_PUSH', {
        nonce: m.nonce,
        clusterId: m.clusterId,
        version: m.plan.version,
        full: m.plan.baseVersion === null,
        baseVersion: m.plan.baseVersion ?? 0,
        body: pushBody(m.plan),
      });
    case 'ping':
      return controllerWire('CONTROLLER_MESSAGE_PING', { seq: m.seq, timeoutMs: m.timeoutMs });
    default: {
      const never: never = m;
      return never;
    }
  }
}

/** A push's bytes but its nonce, encoded once per plan (and cluster id) however many agents it goes to. */
const encodedPushes = new WeakMap<PushPlan, { readonly clusterId: string; readonly shared: Buffer }>();

/**
 * What the driver writes: a push as its plan's shared bytes and this agent's nonce (sync-codec.ts),
 * anything else as the message (encoded by the stream).
 */
export function encodeControllerFrame(m: ControllerMessage): ControllerFrame {
  if (m.type !== 'push') return encodeControllerMessage(m);
  let cached = encodedPushes.get(m.plan);
  if (cached === undefined || cached.clusterId !== m.clusterId) {
    cached = { clusterId: m.clusterId, shared: encodePushShared(encodeControllerMessage({ ...m, nonce: 0 })) };
    encodedPushes.set(m.plan, cached);
  }
  return withNonce(cached.shared, m.nonce);
}

/** A push in parts: its PUSH_PART frames (the same for every agent) and the ending PUSH's bytes but its nonce. */
const partedPushes = new WeakMap<PushPlan, { readonly clusterId: string; readonly parts: readonly Buffer[]; readonly last: Buffer }>();

/**
 * A push as the frames of a push in parts (push-parts.ts): PUSH_PARTs with the first slices of
 * its body, then the PUSH with the last slice, the part count and this agent's nonce. One frame,
 * the push whole, when its body fits one part.
 */
export function encodePushInParts(m: Push): ControllerFrame[] {
  let cached = partedPushes.get(m.plan);
  if (cached === undefined || cached.clusterId !== m.clusterId) {
    const slices = bodySlices(pushBody(m.plan));
    const whole = encodeControllerMessage({ ...m, nonce: 0 });
    cached = {
      clusterId: m.clusterId,
      parts: slices.slice(0, -1).map((body) => encodeControllerWire(controllerWire('CONTROLLER_MESSAGE_PUSH_PART', { body }))),
      last: encodePushShared({ ...whole, body: slices[slices.length - 1]!, parts: slices.length - 1 }),
    };
    partedPushes.set(m.plan, cached);
  }
  return [...cached.parts, withNonce(cached.last, m.nonce)];
}

/** A push as an agent receives it: resources checked one by one. */
export interface ReceivedPush {
  readonly type: 'push';
  readonly nonce: number;
  readonly clusterId: string;
  readonly version: number;
  readonly baseVersion: number | null;
  readonly upserts: readonly Resource[];
  readonly removes: readonly ResourceKey[];
}

export type ReceivedMessage = Exclude<ControllerMessage, Push> | ReceivedPush;

/** The agent's side: a controller is trusted no more than an agent is. */
export function decodeControllerMessage(w: ControllerMessageWire): ReceivedMessage {
  switch (w.type) {
    case 'CONTROLLER_MESSAGE_WELCOME':
      if (w.clusterName.length > 256) throw new MalformedMessageError('welcome.clusterName: expected at most 256 characters');
      return { type: 'welcome', controller: w.controller, clusterId: w.clusterId, clusterName: w.clusterName, session: w.session, pingIntervalMs: count(w.pingIntervalMs, 'welcome.pingIntervalMs'), timeoutMs: count(w.timeoutMs, 'welcome.timeoutMs') };
    case 'CONTROLLER_MESSAGE_PING':
      return { type: 'ping', seq: count(w.seq, 'ping.seq'), timeoutMs: count(w.timeoutMs, 'ping.timeoutMs') };
    case 'CONTROLLER_MESSAGE_PUSH': {
      const body = record(parseJson(w.body, 'push.body'), 'push.body').only(PUSH_KEYS);
      const upserts = body.array('upserts', MAX_CONFIG_RESOURCES).map((r, i) => parseResource(r, `push.upserts[${i}]`, malformed));
      const removes = body.array('removes', MAX_CONFIG_RESOURCES).map((k, i) => parseKey(k, `push.removes[${i}]`));
      return {
        type: 'push',
        nonce: count(w.nonce, 'push.nonce'),
        clusterId: w.clusterId,
        version: count(w.version, 'push.version'),
        baseVersion: w.full ? null : count(w.baseVersion, 'push.baseVersion'),
        upserts,
        removes,
      };
    }
    case 'CONTROLLER_MESSAGE_PUSH_PART':
      // Held by the stream's PushAssembler until the PUSH that ends them: never a message alone.
      throw new MalformedMessageError('a push part outside a push in parts (push-parts.ts)');
    case 'CONTROLLER_MESSAGE_UNSPECIFIED':
    default:
      throw new MalformedMessageError(`expected a message type WELCOME, PUSH or PING, found ${JSON.stringify(w.type)}`);
  }
}
