/**
 * The Mesh service's operations as plain functions of a decoded request and a deadline:
 * apply a resources file, read and delete resources, take a controller's agent report, list
 * agents. Writes run on the leader (here, or forwarded once); reads are linearizable unless
 * asked otherwise.
 */
import { StampClock } from '../util/stamp-clock.js';
import { jsonDepthPast, MAX_JSON_DEPTH } from '../util/json-depth.js';
import {
  CommandError,
  encodeCommand,
  encodeParsed,
  meshKind,
  parseResourceInput,
  contentKey,
  resourceJson,
  validateCommand,
  validateMeshCommand,
  validateReport,
  RESOURCE_NAME_PATTERN,
  MAX_APPLY_RESOURCES,
  SERVICE_OWNERSHIP_VERSION,
  agentAllowed,
  clusterKind,
  declaredOnly,
  settingsKind,
  type AgentReportEntry,
  type ApplyResult,
  type ClientTag,
  type MeshApplyOutcome,
  type MeshCommand,
  type MeshReport,
  type MeshReportOutcome,
  type Resource,
  type ResourceInput,
  type ResourceType,
  type StateMachine,
} from '../statemachine/index.js';
import { MAX_APPLY_BYTES } from '../limits/apply-size.js';
import { pageOf } from './resource-pages.js';
import { UnpagedListings } from './unpaged-listing.js';
import { forgetAgent } from './agent-forget.js';
import { entryTagOf, meshRetryOf } from './client-tag.js';
import type { ConsensusPort } from './consensus-port.js';
import type { OnLeader } from './on-leader.js';
import { linearizableBarrier } from './read-barrier.js';
import { ServiceFailure } from './service-error.js';
import { trace, tracing } from '../util/trace.js';
import type { StateQuota } from './state-quota.js';
import type { MeshBound } from './mesh-bound.js';

export interface ApplyRequestMsg {
  readonly resources: Uint8Array;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly forwarded: boolean;
  /** A re-send whose earlier attempt may have been applied (ClientRef.retry); absent from older senders. */
  readonly clientRetry?: boolean;
  /** ClientRef.owner: set by the controller that took the request (caller-owner.ts); '' or absent otherwise. */
  readonly clientOwner?: string;
}
export interface GetResourcesRequestMsg {
  readonly kind: string;
  readonly name: string;
  readonly serializable: boolean;
  /** Paging (name empty): limit 0 answers all at once; else a page after `after` (src/api/resource-pages.ts). */
  readonly after?: string;
  readonly limit?: number;
}
export interface DeleteResourceRequestMsg {
  readonly kind: string;
  readonly name: string;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly forwarded: boolean;
  /** As ApplyRequestMsg's. */
  readonly clientRetry?: boolean;
  /** As ApplyRequestMsg's. */
  readonly clientOwner?: string;
}
export interface ReportAgentsRequestMsg {
  readonly controller: string;
  readonly entries: Uint8Array;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly forwarded: boolean;
}

export interface ReportMeshRequestMsg {
  readonly controller: string;
  /** JSON: a mesh `report` command without `at` (the leader stamps it). */
  readonly report: Uint8Array;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly forwarded: boolean;
}

export interface MeshOps {
  apply(req: ApplyRequestMsg, deadline: number): Promise<{ revision: number; results: Buffer }>;
  get(req: GetResourcesRequestMsg, deadline: number): Promise<{ resources: Buffer; revision: number; more: boolean }>;
  delete(req: DeleteResourceRequestMsg, deadline: number): Promise<{ revision: number }>;
  report(req: ReportAgentsRequestMsg, deadline: number): Promise<{ applied: number }>;
  reportMesh(req: ReportMeshRequestMsg, deadline: number): Promise<{ revision: number; outcome: Buffer }>;
}

export interface MeshOpsDeps {
  readonly host: ConsensusPort;
  readonly stateMachine: StateMachine;
  readonly onLeader: OnLeader;
  /** Is `id` a member of the cluster (the only ones that may report agents)? */
  readonly isMember: (id: string) => boolean;
  /** This controller, the reporter of an operator's forget. */
  readonly self: string;
  /** controller.quota_bytes: an apply that would pass it is refused on the leader (NO_SPACE). */
  readonly quota?: StateQuota;
  /** controller.max_mesh_bytes: an apply that would grow the mesh past it is refused on the leader (NO_SPACE). */
  readonly meshBound?: MeshBound;
  /** What stamps each command's `at` (stamp-clock.ts); default: the wall clock bounded by performance.now(). */
  readonly clock?: StampClock;
  /** The wall clock ran ahead of what the monotonic clock allows, and was not used for a stamp. */
  readonly onClockAhead?: (aheadMs: number) => void;
  /** Why this node cannot serve a linearizable read now; null: it can (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
}

/** A mesh report: at most 5,000 hosted services and 1,000 agents' usage (src/statemachine/mesh-commands.ts). */
export const MAX_MESH_REPORT_BYTES = 8 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function json(bytes: Uint8Array, what: string, maxBytes: number): unknown {
  if (bytes.byteLength > maxBytes) throw new ServiceFailure('INVALID_ARGUMENT', `${what}: expected at most ${maxBytes} bytes, found ${bytes.byteLength}`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (err) {
    throw new ServiceFailure('INVALID_ARGUMENT', `${what}: expected UTF-8 JSON (${(err as Error).message})`);
  }
  if (jsonDepthPast(text) !== null) throw new ServiceFailure('INVALID_ARGUMENT', `${what}: expected JSON nested at most ${MAX_JSON_DEPTH} levels deep, found deeper`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ServiceFailure('INVALID_ARGUMENT', `${what}: expected UTF-8 JSON (${(err as Error).message})`);
  }
}

/** Apply failures as the client sees them: a dangling reference is "failed" (exit 1), not bad usage. */
function meshResult(r: ApplyResult): number {
  if (r.ok) return r.revision;
  switch (r.code) {
    case 'NOT_FOUND':
      throw new ServiceFailure('NOT_FOUND', r.message);
    case 'CONFLICT':
      throw new ServiceFailure('FAILED_PRECONDITION', r.message);
    case 'INVALID':
    case 'STALE_REQUEST':
    case 'CAS_FAILED':
      throw new ServiceFailure('INVALID_ARGUMENT', r.message);
    case 'IGNORED':
      throw new ServiceFailure('INTERNAL', r.message);
    case 'SESSION_EXPIRED':
      throw new ServiceFailure('SESSION_EXPIRED', r.message);
  }
}

function unchanged(current: Resource | null, next: ResourceInput): boolean {
  return current !== null && contentKey(current) === contentKey(next);
}

/** A controller's own report tag (ReportAgents and ReportMesh take only a peer's calls). */
function controllerTagOf(id: string, seq: number): ClientTag | null {
  return id === '' ? null : { id, seq };
}

/** A report refused: STALE_REQUEST tells the reporting controller to go on under a new client id (hub-driver.ts). */
function reportFailure(r: Extract<ApplyResult, { ok: false }>): ServiceFailure {
  return new ServiceFailure(r.code === 'STALE_REQUEST' ? 'STALE_REQUEST' : 'INTERNAL', r.message);
}

function resourceType(kind: string, expected = 'service or route'): ResourceType {
  if (kind === 'service' || kind === 'route') return kind;
  throw new ServiceFailure('INVALID_ARGUMENT', `kind must be ${expected}, found ${JSON.stringify(kind.slice(0, 40))}`);
}

/** The default: a jump of the wall clock ahead by more than this is not stamped. */
const CLOCK_TOLERANCE_MS = 5_000;

export function meshOps(deps: MeshOpsDeps): MeshOps {
  const { host, onLeader } = deps;
  const clock = deps.clock ?? new StampClock({ wall: Date.now, mono: () => performance.now(), toleranceMs: CLOCK_TOLERANCE_MS });
  /**
   * Validated before proposing: a command the state machine would refuse never reaches the log.
   * Called on the leader, which stamps its clock as the command's `at`: the only time apply uses
   * (so every replica applies the same time; see src/statemachine/mesh.ts and stamp-clock.ts).
   */
  const encodeMesh = (cmd: MeshCommand, client: ClientTag | null): Uint8Array => {
    const { at, aheadMs } = clock.stamp();
    if (aheadMs > 0) deps.onClockAhead?.(aheadMs);
    const envelope = { ...cmd, at, ...(client === null ? {} : { client }) };
    validateCommand(envelope);
    return encodeCommand(envelope);
  };
  const mesh = () => deps.stateMachine.view(meshKind);
  // Reads of an unchanged mesh share one answer: the mesh's sorted list is the same object until
  // it changes. 16 concurrent `get` of 25,000 services, each built anew, cost a leader its term.
  // It is built, and large answers handed out, across turns of the loop (unpaged-listing.ts).
  const listings = new UnpagedListings(mesh, () => deps.stateMachine.revision());
  // Likewise each kind's resources, sorted by name, that pages are cut from.
  const kinds = new WeakMap<readonly Resource[], Map<ResourceType, readonly Resource[]>>();
  const sortedOf = (type: ResourceType): readonly Resource[] => {
    const all = mesh().list();
    let byType = kinds.get(all);
    if (byType === undefined) kinds.set(all, (byType = new Map()));
    let sorted = byType.get(type);
    if (sorted === undefined) byType.set(type, (sorted = all.filter((r) => r.kind === type)));
    return sorted;
  };
  return {
    async apply(req, deadline) {
      if (tracing) trace('mesh.recv');
      const items = json(req.resources, 'resources', MAX_APPLY_BYTES);
      if (!Array.isArray(items)) throw new ServiceFailure('INVALID_ARGUMENT', 'resources: expected a list of { kind, name, spec, labels }');
      if (items.length > MAX_APPLY_RESOURCES) throw new ServiceFailure('INVALID_ARGUMENT', `resources: expected at most ${MAX_APPLY_RESOURCES}, found ${items.length}`);
      const resources = (items as readonly unknown[]).map((item, i) => parseResourceInput(item, `resources[${i}]`, (m) => new CommandError(m)));
      const command: MeshCommand = { kind: 'mesh', op: 'apply', resources };
      validateCommand(command);
      const client = entryTagOf(deps.stateMachine, req.clientId, req.clientSeq, req.clientRetry, req.clientOwner);
      const retry = meshRetryOf(req);
      return onLeader('Apply', req, deadline, async (remaining, retried) => {
        // A file that changes nothing writes nothing, not even a log entry: once a read barrier
        // confirms this leader's state is current, an unchanged file is answered from it. A file
        // that changes something by the state applied here is proposed at once: the barrier
        // could only show more changes, and the state machine judges each resource at apply.
        // An agents' service in the file is not unchanged from SERVICE_OWNERSHIP_VERSION: its apply
        // makes it the operator's (mesh-operator.ts), which only the log can do.
        const adopts = (r: ResourceInput): boolean => r.kind === 'service' && mesh().publishedSpec(r.name) && deps.stateMachine.supports(SERVICE_OWNERSHIP_VERSION);
        // Nor, with services.agent_publish declared, a service with endpoints its label does not allow: its apply takes them off.
        const takesOff = (r: ResourceInput): boolean => {
          if (r.kind !== 'service' || !declaredOnly(deps.stateMachine.view(clusterKind), deps.stateMachine.view(settingsKind))) return false;
          const current = mesh().get('service', r.name);
          return current?.kind === 'service' && (current.status.endpoints ?? []).some((e) => !agentAllowed(r.labels, e.agent));
        };
        const unchangedHere = (): boolean => resources.every((r) => unchanged(mesh().get(r.kind, r.name), r) && !adopts(r) && !takesOff(r));
        if (unchangedHere()) {
          await host.readBarrier(remaining);
          if (unchangedHere()) {
            const results = resources.map((r) => ({ kind: r.kind, name: r.name, action: 'unchanged' as const }));
            return { revision: deps.stateMachine.revision(), results: Buffer.from(JSON.stringify(results)) };
          }
        }
        const data = encodeMesh(command, retried ? entryTagOf(deps.stateMachine, req.clientId, req.clientSeq, true, req.clientOwner) : client);
        // Counted whole, as the entry's bytes (what it replaces is not subtracted): applies are small and rare.
        const quota = deps.quota;
        const what = `apply of ${resources.length} resource${resources.length === 1 ? '' : 's'}`;
        const proposeHere = (): Promise<ApplyResult> => host.propose(data, Math.max(1, deadline - Date.now()));
        // Reserved in the quota until it applies, as puts are (state-quota.ts).
        const propose = (): Promise<ApplyResult> => (quota ? quota.guard(data.byteLength, what, proposeHere) : proposeHere());
        // Judged by the state applied here and the applies in flight, before proposing (src/api/mesh-bound.ts says why that suffices).
        const r = await (deps.meshBound?.guardApply(resources, propose) ?? propose());
        const revision = meshResult(r);
        const outcome = (r.ok ? r.value : undefined) as MeshApplyOutcome | undefined;
        if (tracing) trace('mesh.answer', revision);
        return { revision, results: Buffer.from(JSON.stringify(outcome?.results ?? [])) };
      }, retry);
    },

    async get(req, deadline) {
      const type = resourceType(req.kind);
      if (req.name !== '' && !RESOURCE_NAME_PATTERN.test(req.name)) throw new ServiceFailure('INVALID_ARGUMENT', `invalid name ${JSON.stringify(req.name.slice(0, 80))}`);
      const after = req.after ?? '';
      const limit = req.limit ?? 0;
      if (after.length > 1024) throw new ServiceFailure('INVALID_ARGUMENT', `after: expected a resource name, found ${after.length} characters`);
      if (!req.serializable) await linearizableBarrier(host, deadline, deps.cutOff);
      if (req.name === '' && limit > 0) {
        const page = pageOf(sortedOf(type), after, limit);
        return { resources: Buffer.from(page.json), revision: deps.stateMachine.revision(), more: page.more };
      }
      if (req.name === '') return { ...(await listings.answer(type)), more: false };
      const one = mesh().get(type, req.name);
      if (one === null) throw new ServiceFailure('NOT_FOUND', `${type} ${JSON.stringify(req.name)} not found`);
      return { resources: Buffer.from(JSON.stringify([resourceJson(one)])), revision: deps.stateMachine.revision(), more: false };
    },

    async delete(req, deadline) {
      if (req.kind === 'agent') return forgetAgent(deps, req, deadline);
      const type = resourceType(req.kind, 'service, route or agent');
      if (!RESOURCE_NAME_PATTERN.test(req.name)) throw new ServiceFailure('INVALID_ARGUMENT', `invalid name ${JSON.stringify(req.name.slice(0, 80))}`);
      const command: MeshCommand = { kind: 'mesh', op: 'delete', type, name: req.name };
      validateCommand(command);
      const client = entryTagOf(deps.stateMachine, req.clientId, req.clientSeq, req.clientRetry, req.clientOwner);
      const retried = (): ClientTag | null => entryTagOf(deps.stateMachine, req.clientId, req.clientSeq, true, req.clientOwner);
      return onLeader(
        'DeleteResource',
        req,
        deadline,
        async (remaining, again) => ({ revision: meshResult(await host.propose(encodeMesh(command, again ? retried() : client), remaining)) }),
        meshRetryOf(req),
      );
    },

    async reportMesh(req, deadline) {
      if (!deps.isMember(req.controller)) throw new ServiceFailure('UNKNOWN_NODE', `${JSON.stringify(req.controller.slice(0, 80))} is not a member; only controllers report what agents publish and use`);
      const raw = json(req.report, 'report', MAX_MESH_REPORT_BYTES);
      let command: MeshCommand;
      try {
        command = validateMeshCommand(raw);
      } catch (err) {
        throw new ServiceFailure('INVALID_ARGUMENT', (err as Error).message);
      }
      if (command.op !== 'report') throw new ServiceFailure('INVALID_ARGUMENT', `report: expected op "report", found ${JSON.stringify(command.op)}`);
      if (command.controller !== req.controller) throw new ServiceFailure('INVALID_ARGUMENT', `report: names controller ${JSON.stringify(command.controller)}, sent by ${JSON.stringify(req.controller)}`);
      if (command.at !== undefined) throw new ServiceFailure('INVALID_ARGUMENT', 'report: "at" is the leader\'s to stamp');
      return onLeader('ReportMesh', req, deadline, async (remaining) => {
        const r = await host.propose(encodeMesh(command, controllerTagOf(req.clientId, req.clientSeq)), remaining);
        if (!r.ok) throw reportFailure(r);
        return { revision: r.revision, outcome: Buffer.from(JSON.stringify(r.value ?? null)) };
      });
    },

    async report(req, deadline) {
      if (!deps.isMember(req.controller)) throw new ServiceFailure('UNKNOWN_NODE', `${JSON.stringify(req.controller.slice(0, 80))} is not a member; only controllers report agents`);
      // Parsed, checked and encoded only where it is proposed: a follower forwards the bytes as
      // they came, and the leader refuses what does not pass (a fan-out's reports are most of
      // what controllers send each other, and each was parsed twice on its way).
      const encoded = (): Uint8Array => {
        const raw = json(req.entries, 'entries', 16 * 1024 * 1024);
        if (!Array.isArray(raw)) throw new ServiceFailure('INVALID_ARGUMENT', 'entries: expected a list');
        const report = validateReport(req.controller, raw as readonly unknown[]);
        // The leader applies the report from the form checked here (encodeParsed), not parsed again.
        return encodeParsed(report, controllerTagOf(req.clientId, req.clientSeq));
      };
      let data: Uint8Array | null = null;
      return onLeader('ReportAgents', req, deadline, async (remaining) => {
        data ??= encoded();
        const r = await host.propose(data, remaining);
        if (!r.ok) throw reportFailure(r);
        return { applied: (r.value as { applied: number } | undefined)?.applied ?? 0 };
      });
    },
  };
}

/** A mesh report as a controller proposes it locally (it leads) or sends it (ReportMesh). */
export function meshReportRequest(report: Omit<MeshReport, 'at'>, client: { id: string; seq: number }): ReportMeshRequestMsg {
  return { controller: report.controller, report: Buffer.from(JSON.stringify(report)), clientId: client.id, clientSeq: client.seq, forwarded: false };
}

/** The outcome of a committed mesh report, as the leader answered it. */
export function meshReportOutcome(res: { readonly outcome: Uint8Array }): MeshReportOutcome | null {
  try {
    return JSON.parse(Buffer.from(res.outcome).toString('utf8')) as MeshReportOutcome | null;
  } catch {
    return null;
  }
}

/** A report as a controller proposes it locally (it leads) or sends it (ReportAgents). */
export function reportRequest(controller: string, entries: readonly AgentReportEntry[], client: { id: string; seq: number }): ReportAgentsRequestMsg {
  return { controller, entries: Buffer.from(JSON.stringify(entries)), clientId: client.id, clientSeq: client.seq, forwarded: false };
}

