/**
 * The mesh kind: the services and routes the cluster serves to its agents, their virtual IPs,
 * and what each agent declared and was observed to depend on. One kind holds all of it because
 * one change must reach, in the same apply, everything it touches: a resources file is one
 * command and one revision whose routes must name services that exist; a deleted service leaves
 * every agent's observed dependencies; a new service's VIP comes from the same allocator every
 * replica runs; and each change stamps the version of exactly the agents whose configuration
 * it reaches.
 *
 * The operations: mesh-operator.ts (`apply`, `delete`), mesh-report.ts (controllers' reports:
 * publishes, /resolve usage, endpoint health, expiry). The state: mesh-state.ts. Rules and their
 * tests: test/statemachine/mesh.test.ts, mesh-services.test.ts, vip-allocator.test.ts.
 *
 * Time: a command carries `at`, the proposing leader's wall clock; the kind's clock is the
 * largest `at` seen, so log time never goes back even when a new leader's clock is behind the
 * old one's (then it stands still until the new leader's clock passes it: a quarantine or an
 * expiry lasts longer, never shorter, than its setting). A leader whose clock is ahead moves log
 * time ahead for good: quarantines and expiries end early by that skew (docs/agents.md).
 */
import { CommandError, SnapshotError } from './errors.js';
import { Fields } from '../util/untrusted.js';
import { parseDeclaration, type AgentDeclarationView } from './mesh-declarations.js';
import { parseMeshCommand, type MeshCommand } from './mesh-commands.js';
import { applyResources, deleteResource } from './mesh-operator.js';
import { applyReport } from './mesh-report.js';
import { MeshState, type MeshTransition } from './mesh-state.js';
import type { KeptBy, ShareRule } from './publisher-shares.js';
import { compareResources, parseResource, resourceJson, type Resource, type ResourceType } from './mesh-types.js';
import type { ApplyContext, KindInstance, ResourceKind } from './resource-kind.js';
import type { ApplyResult } from './result.js';
import { valuePieces, type SnapshotPieces } from './snapshot-job.js';
import type { QuarantineEntry, VipRange } from './vip-allocator.js';

export const MESH_KIND = 'mesh';

export type { MeshApply, MeshCommand, MeshDelete, MeshReport, PublishEntry, UsageEntry } from './mesh-commands.js';
export type { ApplyAction, MeshApplyOutcome } from './mesh-operator.js';
export type { MeshReportOutcome } from './mesh-report.js';
export type { MeshTransition } from './mesh-state.js';

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
  /**
   * The UTF-8 bytes of the JSON list of every service and route (what a full push carries and
   * controller.max_mesh_bytes bounds), kept as the mesh changes: reading it costs nothing.
   */
  readonly resourceBytes: number;
  /** Log time (ms since the epoch): the largest `at` a command carried. */
  readonly clock: number;
  /** What `agent` declared and was observed to depend on; null: nothing yet. */
  declaration(agent: string): AgentDeclarationView | null;
  /** A lazy agent's configuration: its names' services and the routes between them, sorted. */
  selectionOf(agent: string): readonly Resource[];
  /** Service -> health of the agent's endpoint there. */
  endpointsOf(agent: string): ReadonlyMap<string, boolean>;
  /** Agents that are an endpoint of some service, sorted. */
  endpointAgents(): readonly string[];
  /** Agents with a declaration (published or observed something), sorted. */
  declaredAgents(): readonly string[];
  /** Whether the service's spec and labels came from an agent's publish (not an operator's apply). */
  publishedSpec(name: string): boolean;
  /**
   * Services agents published that no agent lists as hosted any more and no route names, sorted:
   * the leader expires those that stay so for its grace (SERVICE_OWNERSHIP_VERSION).
   */
  unlistedPublished(keptBy: KeptBy): readonly string[];
  /** Agents whose committed declaration lists service `name` as hosted (refused or not). */
  hostersOf(name: string): ReadonlySet<string>;
  /** Whether `name` is among unlistedPublished(keptBy), at the cost of a lookup. */
  unlisted(name: string, keptBy: KeptBy): boolean;
  /** When (log time) some observed dependency next turns expiring or expired; null: none will. */
  nextExpiryAt(ttlMs: number): number | null;
  /** Free VIPs in `range` at log time `now`. */
  freeVips(range: VipRange, quarantineMs: number, now: number): number;
  /** Services `agent` holds by its publishes under `rule` at log time `now`, quarantined VIPs included (publisher-shares.ts). */
  heldBy(agent: string, rule: ShareRule, quarantineMs: number, now: number): number;
  /** The agent charged for an agents' service no agent lists (its last lister, or creator); null: listed or none. */
  unlistedPayer(name: string): string | null;
  /** Committed transitions after `seq` (for audit); `missed` when some were dropped. */
  transitionsSince(seq: number): { readonly items: readonly MeshTransition[]; readonly missed: boolean };
  readonly transitionSeq: number;
}

const SNAPSHOT_FIELDS = new Set(['lastChange', 'resources', 'published', 'publishers', 'clock', 'allocator', 'agents', 'transitionSeq']);

export class MeshStore implements KindInstance<MeshCommand, MeshView>, MeshView {
  private state = new MeshState();

  get view(): MeshView {
    return this;
  }

  get lastChange(): number {
    return this.state.lastChange;
  }

  get size(): number {
    return this.state.services.size + this.state.routes.size;
  }

  get clock(): number {
    return this.state.clock;
  }

  get resourceBytes(): number {
    return this.state.resourceBytes;
  }

  /** An upper bound of `JSON.stringify(snapshot())`'s length, kept as the mesh changes. */
  snapshotLength(): number {
    return this.state.snapshotLength();
  }

  /** snapshot() copies every resource and declaration, so its value is already frozen: only its text is deferred. */
  snapshotPieces(): SnapshotPieces {
    return valuePieces(this.snapshot(), this.snapshotLength());
  }

  get transitionSeq(): number {
    return this.state.transitions.seq;
  }

  list(): readonly Resource[] {
    return this.state.list();
  }

  listOf(type: ResourceType): readonly Resource[] {
    return this.list().filter((r) => r.kind === type);
  }

  get(type: ResourceType, name: string): Resource | null {
    return this.state.get(type, name);
  }

  routesNaming(service: string): readonly string[] {
    return this.state.routesNaming(service);
  }

  declaration(agent: string): AgentDeclarationView | null {
    return this.state.declaration(agent);
  }

  selectionOf(agent: string): readonly Resource[] {
    return this.state.selectionOf(agent);
  }

  endpointsOf(agent: string): ReadonlyMap<string, boolean> {
    return this.state.endpointsOf(agent);
  }

  endpointAgents(): readonly string[] {
    return this.state.endpointAgents();
  }

  declaredAgents(): readonly string[] {
    return this.state.declarations.sorted().map((d) => d.agent);
  }

  publishedSpec(name: string): boolean {
    return this.state.published.has(name);
  }

  unlistedPublished(keptBy: KeptBy): readonly string[] {
    return this.state.unlistedPublished(keptBy);
  }

  hostersOf(name: string): ReadonlySet<string> {
    return this.state.declarations.hostersOf(name);
  }

  unlisted(name: string, keptBy: KeptBy): boolean {
    return this.state.expirable(name, keptBy);
  }

  nextExpiryAt(ttlMs: number): number | null {
    return this.state.declarations.nextExpiryAt(ttlMs);
  }

  freeVips(range: VipRange, quarantineMs: number, now: number): number {
    return this.state.freeVips(range, quarantineMs, now);
  }

  heldBy(agent: string, rule: ShareRule, quarantineMs: number, now: number): number {
    return this.state.heldBy(agent, rule, quarantineMs, now);
  }

  unlistedPayer(name: string): string | null {
    return this.state.listed(name) ? null : this.state.charges.payer(name);
  }

  transitionsSince(seq: number): { readonly items: readonly MeshTransition[]; readonly missed: boolean } {
    return this.state.transitions.since(seq);
  }

  apply(command: MeshCommand, ctx: ApplyContext): ApplyResult {
    this.state.advanceClock(command.at);
    switch (command.op) {
      case 'apply':
        return applyResources(this.state, command, ctx);
      case 'delete':
        return deleteResource(this.state, command, ctx);
      case 'report':
        return applyReport(this.state, command, ctx);
      default: {
        const never: never = command;
        return never;
      }
    }
  }

  snapshot(): unknown {
    const s = this.state;
    return {
      lastChange: s.lastChange,
      resources: s.list().map(resourceJson),
      published: [...s.published].sort(),
      // Only from PUBLISH_SHARE_VERSION (0.7 members refuse the field): left out while empty.
      ...(s.charges.size > 0 ? { publishers: s.charges.sorted() } : {}),
      clock: s.clock,
      allocator: s.allocator.snapshot(),
      agents: s.declarations.snapshot(),
      transitionSeq: s.transitions.seq,
    };
  }

  /** Fields added since the first version (clock, allocator, agents, transitionSeq) may be absent: a snapshot from before them. */
  restore(data: unknown): void {
    const makeError = (m: string): Error => new SnapshotError(m);
    const f: Fields = Fields.of(data, 'mesh', makeError).only(SNAPSHOT_FIELDS);
    const state = new MeshState();
    const last = f.int('lastChange', { min: 0 });
    let previous: Resource | null = null;
    for (const [i, item] of f.array('resources', Number.MAX_SAFE_INTEGER).entries()) {
      const r = parseResource(item, `mesh: resource ${i}`, makeError);
      if (previous !== null && compareResources(previous, r) >= 0) f.fail(`resources must be sorted and unique, found ${r.kind}/${r.name} after ${previous.kind}/${previous.name}`);
      if (r.revision > last) f.fail(`${r.kind}/${r.name} has revision ${r.revision}, after lastChange ${last}`);
      if (r.kind === 'service' && r.status.vip !== undefined) {
        const holder = state.allocator.holder(r.status.vip);
        if (holder !== null) f.fail(`services ${JSON.stringify(holder)} and ${JSON.stringify(r.name)} hold the same VIP ${r.status.vip}`);
      }
      previous = r;
      state.load(r);
    }
    for (const r of state.routes.values()) {
      for (const s of [r.spec.from, r.spec.to]) if (!state.services.has(s)) f.fail(`route ${JSON.stringify(r.name)} names service ${JSON.stringify(s)}, which is not in the snapshot`);
    }
    state.lastChange = last;
    for (const name of f.has('published') ? f.strings('published') : []) {
      if (!state.services.has(name)) f.fail(`published: service ${JSON.stringify(name.slice(0, 80))} is not in the snapshot`);
      state.published.add(name);
    }
    let previousName: string | null = null;
    for (const [i, item] of (f.has('publishers') ? f.array('publishers') : []).entries()) {
      const pair = Array.isArray(item) ? (item as readonly unknown[]) : [];
      const [name, agent] = pair;
      if (pair.length !== 2 || typeof name !== 'string' || typeof agent !== 'string' || agent === '') f.fail(`publishers[${i}]: expected [service, agent]`);
      if (!state.published.has(name)) f.fail(`publishers[${i}]: service ${JSON.stringify(name.slice(0, 80))} is not a published one of the snapshot`);
      if (previousName !== null && !(previousName < name)) f.fail('publishers must be sorted by service without repeats');
      previousName = name;
      state.charges.set(name, agent);
    }
    state.clock = f.optionalInt('clock', { min: 0 }) ?? 0;
    if (f.has('allocator')) {
      const a: Fields = Fields.of(f.raw['allocator'], 'mesh: allocator', makeError).only(new Set(['range', 'cursor', 'quarantine']));
      const range = a.raw['range'] === null ? null : a.string('range', { maxBytes: 32 });
      const cursor = a.raw['cursor'] === null ? null : a.string('cursor', { maxBytes: 32 });
      const quarantine = a.array('quarantine').map((q, i): QuarantineEntry => {
        const entry = Array.isArray(q) ? (q as readonly unknown[]) : [];
        const [vip, at, owner] = entry;
        const owned = entry.length === 3 && typeof owner === 'string' && owner !== '';
        if ((entry.length !== 2 && !owned) || typeof vip !== 'string' || typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) a.fail(`quarantine[${i}]: expected [address, releasedAt] or [address, releasedAt, agent]`);
        return owned ? [vip, at, owner] : [vip, at];
      });
      try {
        state.allocator.restore({ range, cursor, quarantine });
      } catch (err) {
        a.fail((err as Error).message);
      }
    }
    if (f.has('agents')) {
      const records = f.array('agents').map((item, i) => parseDeclaration(item, (m) => f.fail(`agents[${i}]: ${m}`)));
      for (let i = 1; i < records.length; i++) if (!(records[i - 1]!.agent < records[i]!.agent)) f.fail('agents must be sorted by agent without repeats');
      state.declarations.restore(records);
    }
    state.transitions.reset(f.optionalInt('transitionSeq', { min: 0 }) ?? 0);
    this.state = state;
  }
}

export const meshKind: ResourceKind<MeshCommand, MeshView> = {
  name: MESH_KIND,
  parse: parseMeshCommand,
  create: () => new MeshStore(),
};

/** For callers that build a mesh command from untrusted parts: the same checks apply runs. */
export function validateMeshCommand(value: unknown): MeshCommand {
  return parseMeshCommand(Fields.of(value, 'command', (m) => new CommandError(m)));
}
