/**
 * A typed client for controller.agents.Mesh with the same endpoint failover as ControllerClient
 * (failover.ts): apply a resources file, read and delete resources, list agents. Writes carry a
 * client ref, so a retried apply is applied once. Answers are decoded as untrusted input.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { AgentRow } from '../agents/listing.js';
import { decodePublishStanding } from '../agents/publish-standing.js';
import { AGENT_STATES, type AgentState } from '../agents/types.js';
import { parseResource, resourceJson, type ApplyAction, type Resource, type ResourceInput, type ResourceType } from '../statemachine/index.js';
import { Fields } from '../util/untrusted.js';
import { CLIENT_CHANNEL_OPTIONS } from './controller-proto.js';
import { ApiError } from './errors.js';
import { Failover, onEndpoint } from './failover.js';
import type { OneClusterCheck } from './one-cluster.js';
import { meshUnary, type MeshMethod } from './mesh-proto.js';
import { checkApplySize } from './request-size.js';
import { WriteAttempts } from './client-lanes.js';
import type { ClientRefMsg } from './wire-types.js';
import { PAGE_LIMIT, allPages } from './resource-pages.js';

export interface MeshClientOptions {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  readonly credentials?: grpc.ChannelCredentials;
  /** Checks that the endpoints are one cluster's before a write or a read (one-cluster.ts); absent: no check. */
  readonly oneCluster?: OneClusterCheck;
}

export interface ApplyAnswer {
  readonly revision: number;
  readonly results: readonly { readonly kind: ResourceType; readonly name: string; readonly action: ApplyAction }[];
}

export interface AgentsView {
  readonly agents: readonly AgentRow[];
  readonly answeredBy: string;
  /** As ControllersView.stale: the answering node cannot vouch for its view (listAgents then asks the other endpoints). */
  readonly stale: boolean;
  readonly staleReason: string;
}

const bad = (m: string): ApiError => new ApiError('INTERNAL', `unexpected answer from the server: ${m}`);

function answer(raw: unknown, message: string): Fields {
  return Fields.of(raw, message, bad);
}

function jsonBytes(f: Fields, key: string): unknown {
  const v = f.raw[key];
  if (!(v instanceof Uint8Array)) throw bad(`${key}: expected bytes`);
  try {
    return JSON.parse(Buffer.from(v).toString('utf8'));
  } catch (err) {
    throw bad(`${key}: expected JSON (${(err as Error).message})`);
  }
}

function list(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) throw bad(`${what}: expected a list`);
  return value as readonly unknown[];
}

const nullableInt = (f: Fields, key: string): number | null => (f.raw[key] === null ? null : f.int(key, { min: 0 }));

/**
 * One row of ListAgents. Fields this client does not know are left out, not refused: a newer
 * controller may add some (as protobuf ignores unknown fields), and a ctl one version behind
 * must still list the agents.
 */
export function decodeAgentRow(raw: unknown, i: number): AgentRow {
  const f = Fields.of(raw, `agents[${i}]`, bad);
  const names = (key: string): string[] =>
    list(f.raw[key], key).map((n) => {
      if (typeof n !== 'string') throw bad(`agents[${i}].${key}: expected a list of names`);
      return n;
    });
  return {
    id: f.string('id'),
    online: f.boolean('online'),
    controller: f.string('controller'),
    state: f.oneOf('state', AGENT_STATES) as AgentState,
    sentVersion: nullableInt(f, 'sentVersion'),
    ackedVersion: nullableInt(f, 'ackedVersion'),
    nackedVersion: nullableInt(f, 'nackedVersion'),
    lastError: f.raw['lastError'] === null ? null : f.string('lastError'),
    pushes: f.int('pushes', { min: 0 }),
    resources: f.int('resources', { min: 0 }),
    dependencies: names('dependencies'),
    hosts: names('hosts'),
    lastContactMs: nullableInt(f, 'lastContactMs'),
    heartbeatTimeoutMs: f.int('heartbeatTimeoutMs', { min: 0 }),
    // Added with services (issue 14): absent from an older controller's rows.
    publishWrites: f.optionalInt('publishWrites', { min: 0 }) ?? 0,
    publishRevisions: f.optionalInt('publishRevisions', { min: 0 }) ?? 0,
    publish: decodePublishStanding(f.raw['publish'], `agents[${i}].publish`, bad),
  };
}

/** A write's tag in the flat fields of the mesh requests. */
function flat(ref: ClientRefMsg): { clientId: string; clientSeq: number; clientRetry: boolean } {
  return { clientId: ref.id, clientSeq: ref.seq, clientRetry: ref.retry === true };
}

export class MeshClient {
  private readonly failover: Failover;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly channels = new Map<string, grpc.Client>();
  private readonly clientId = randomUUID();
  private seq = 0;

  constructor(private readonly opts: MeshClientOptions) {
    this.failover = new Failover(opts.endpoints);
    this.credentials = opts.credentials ?? grpc.credentials.createInsecure();
  }

  async apply(resources: readonly ResourceInput[]): Promise<ApplyAnswer> {
    const encoded = Buffer.from(JSON.stringify(resources));
    checkApplySize(encoded.byteLength);
    await this.opts.oneCluster?.check('the apply');
    const attempts = new WriteAttempts({ id: this.clientId, seq: ++this.seq });
    const f = answer(await attempts.settle(() => this.failover.run((e) => attempts.send((ref) => this.call(e, 'Apply', { resources: encoded, ...flat(ref), forwarded: false })))), 'ApplyResponse');
    const results = list(jsonBytes(f, 'results'), 'results').map((r, i) => {
      const x = Fields.of(r, `results[${i}]`, bad);
      return { kind: x.oneOf('kind', ['service', 'route'] as const), name: x.string('name'), action: x.oneOf('action', ['created', 'configured', 'unchanged'] as const) };
    });
    return { revision: f.int('revision', { min: 0 }), results };
  }

  /** Resources of a kind (fetched in pages), or the one named (NOT_FOUND when it does not exist), sorted by name. */
  async get(kind: ResourceType, name = '', opts: { readonly serializable?: boolean } = {}): Promise<readonly Resource[]> {
    await this.opts.oneCluster?.check(name === '' ? `the read of ${kind}s` : `the read of ${kind} ${name}`);
    const page = async (after: string, limit: number): Promise<{ items: Resource[]; more: boolean }> => {
      const request = { kind, name, serializable: opts.serializable ?? false, after, limit };
      const f = answer(await this.failover.run((e) => this.call(e, 'GetResources', request)), 'GetResourcesResponse');
      const items = list(jsonBytes(f, 'resources'), 'resources').map((r, i) => resourceJson(parseResource(r, `resources[${i}]`, bad)));
      return { items, more: f.raw['more'] === true };
    };
    if (name !== '') return (await page('', 0)).items;
    return allPages((after) => page(after, PAGE_LIMIT));
  }

  async delete(kind: ResourceType, name: string): Promise<{ revision: number }> {
    await this.opts.oneCluster?.check(`the delete of ${kind} ${name}`);
    const attempts = new WriteAttempts({ id: this.clientId, seq: ++this.seq });
    const f = answer(await attempts.settle(() => this.failover.run((e) => attempts.send((ref) => this.call(e, 'DeleteResource', { kind, name, ...flat(ref), forwarded: false })))), 'DeleteResourceResponse');
    return { revision: f.int('revision', { min: 0 }) };
  }

  /** Forgets an offline agent's record (`ctl delete agent`); NOT_FOUND when there is none. */
  async forgetAgent(id: string): Promise<void> {
    await this.opts.oneCluster?.check(`the removal of agent ${id}`);
    const attempts = new WriteAttempts({ id: this.clientId, seq: ++this.seq });
    answer(await attempts.settle(() => this.failover.run((e) => attempts.send((ref) => this.call(e, 'DeleteResource', { kind: 'agent', name: id, ...flat(ref), forwarded: false })))), 'DeleteResourceResponse');
  }

  /** The first answer, unless it is stale and another endpoint has a current one. */
  async listAgents(): Promise<AgentsView> {
    const first = decodeAgents(await this.failover.run((e) => this.call(e, 'ListAgents', { localOnly: false })));
    if (!first.stale) return first;
    for (const endpoint of this.failover.endpoints) {
      const other = await this.listAgentsOn(endpoint).catch(() => null);
      if (other !== null && !other.stale) return other;
    }
    return first;
  }

  /** Asks exactly this endpoint (no failover). */
  async listAgentsOn(endpoint: string): Promise<AgentsView> {
    return decodeAgents(await onEndpoint(endpoint, () => this.call(endpoint, 'ListAgents', { localOnly: false })));
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }

  private call(endpoint: string, method: MeshMethod, request: object): Promise<unknown> {
    let channel = this.channels.get(endpoint);
    if (channel === undefined) {
      channel = new grpc.Client(endpoint, this.credentials, CLIENT_CHANNEL_OPTIONS);
      this.channels.set(endpoint, channel);
    }
    return meshUnary(channel, method, request, Date.now() + this.opts.timeoutMs);
  }
}

function decodeAgents(raw: unknown): AgentsView {
  const f = answer(raw, 'ListAgentsResponse');
  return {
    agents: list(jsonBytes(f, 'agents'), 'agents').map(decodeAgentRow),
    answeredBy: f.string('answeredBy'),
    stale: f.boolean('stale'),
    staleReason: f.string('staleReason'),
  };
}
