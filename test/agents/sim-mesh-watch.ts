/**
 * The services' rules the agents' simulation (agents-sim.ts) checks at every entry of the log, on
 * the leader's state machine (the truth), and then on every replica:
 * - no two live services share a VIP;
 * - a service keeps its VIP for its life (a new one only after a delete or an expiry and a
 *   re-create), and an address released is not handed out again within services.vip_quarantine
 *   of log time;
 * - a report never changes an operator's service's spec or labels, and changes an agents'
 *   service's only when every endpoint it had is among that report's publishers (the first
 *   publisher's spec stands);
 * - at cluster version SERVICE_OWNERSHIP_VERSION an operator's service lists as endpoints only
 *   agents its label mesh/allowed-agents allows, or that were endpoints when it became the
 *   operator's (the version raised, or an unchanged apply adopting an agents' service) and have
 *   stayed since with no operator's write (mesh-publish.ts, mesh-operator.ts);
 * - while services.agent_publish is declared (DECLARED_PUBLISH_VERSION), a report creates no
 *   service, and an agents' service takes no new endpoint and keeps its spec and labels;
 * - an expired service is listed by no agent connected on a stream whose publish of it has
 *   committed, and has been unlisted in the log for the leader's grace;
 * - every replica at the log's end has the leader's state, byte for byte (its snapshot).
 *
 * The allowed-agents rule is written again here (not imported) so that the check is not the
 * code it checks.
 */
import {
  ALLOWED_AGENTS_LABEL,
  DECLARED_PUBLISH_VERSION,
  SERVICE_OWNERSHIP_VERSION,
  clusterKind,
  keptByFor,
  meshKind,
  shareRuleOf,
  settingsKind,
  type KindCommand,
  type Labels,
  type MeshView,
  type ServiceResource,
  type StateMachine,
} from '../../src/statemachine/index.js';
import { SimLog } from './hub-harness.js';

export interface MeshWatchHost {
  /** Simulated time. */
  now(): number;
  violation(what: string): void;
  note(what: string): void;
  /** Counts the leaders so far. */
  leaderTerm(): number;
  /** Agents connected on a stream whose publish listing `service` as hosted has committed. */
  connectedListers(service: string): readonly string[];
}

/** The shared log, every entry checked once applied to the truth. */
export class WatchedLog extends SimLog {
  watch: MeshWatch | null = null;

  override propose(cmd: KindCommand): ReturnType<SimLog['propose']> {
    const result = super.propose(cmd);
    this.watch?.afterEntry(cmd);
    return result;
  }
}

interface Seen {
  /** Spec and labels. */
  readonly content: string;
  readonly operator: boolean;
  readonly endpoints: readonly string[];
}

/** Whether `labels` let `agent` serve: ids, or prefixes ending in `*`, separated by commas. */
export function allows(labels: Labels, agent: string): boolean {
  for (const raw of (labels[ALLOWED_AGENTS_LABEL] ?? '').split(',')) {
    const p = raw.trim();
    if (p !== '' && (p.endsWith('*') ? agent.startsWith(p.slice(0, -1)) : agent === p)) return true;
  }
  return false;
}

function services(mesh: MeshView): ServiceResource[] {
  return mesh.listOf('service').filter((r): r is ServiceResource => r.kind === 'service');
}

export class MeshWatch {
  private transitionSeq = 0;
  /** Live services' VIPs, as the transitions assigned them. */
  private readonly vipOf = new Map<string, string>();
  /** Released addresses and the log time of their release. */
  private readonly releasedAt = new Map<string, number>();
  private readonly seen = new Map<string, Seen>();
  /** Per operator's service, the endpoints it kept from before it was the operator's. */
  private readonly kept = new Map<string, Set<string>>();
  /** Agents' services no agent lists, and since when (simulated time), under which leader. */
  private readonly unlistedSince = new Map<string, number>();
  private readonly unlistedTerm = new Map<string, number>();
  private ownership = false;
  /** Each live service's creation: the log's length when it was assigned its VIP. */
  private readonly created = new Map<string, number>();
  /** Expiries and VIPs reused after their quarantine, seen: the simulation must reach them. */
  readonly counts = { expired: 0, expiredAcrossLeaders: 0, deleted: 0, reused: 0, kept: 0, undeclared: 0 };

  constructor(
    private readonly truth: StateMachine,
    private readonly host: MeshWatchHost,
    /** The leader's grace before an unlisted service is expired. */
    private readonly graceMs: number,
  ) {}

  afterEntry(cmd: KindCommand): void {
    // Only the mesh's own commands change services, and the cluster's its rules.
    if (cmd.kind !== 'mesh' && cmd.kind !== 'cluster') return;
    const mesh = this.truth.view(meshKind);
    const quarantineMs = this.truth.view(settingsKind).get('services.vip_quarantine');
    const { items, missed } = mesh.transitionsSince(this.transitionSeq);
    this.transitionSeq = mesh.transitionSeq;
    if (missed) this.host.violation('the watch missed mesh transitions (the transition log is too short for one entry)');
    for (const t of items) {
      if (t.type === 'vip.assigned') {
        const held = this.vipOf.get(t.service);
        if (held !== undefined) this.host.violation(`service ${t.service} was assigned ${t.vip} while it holds ${held}`);
        const released = this.releasedAt.get(t.vip);
        if (released !== undefined) {
          if (mesh.clock - released < quarantineMs) this.host.violation(`${t.vip} handed out to ${t.service} ${mesh.clock - released}ms (log time) after its release; the quarantine is ${quarantineMs}ms`);
          else this.counts.reused++;
          this.releasedAt.delete(t.vip);
        }
        this.vipOf.set(t.service, t.vip);
        this.created.set(t.service, this.truth.appliedIndex);
      } else if (t.type === 'vip.released') {
        if (this.vipOf.get(t.service) !== t.vip) this.host.violation(`service ${t.service} released ${t.vip}; it held ${this.vipOf.get(t.service) ?? 'none'}`);
        this.vipOf.delete(t.service);
        this.releasedAt.set(t.vip, mesh.clock);
        if (t.cause === 'expired') this.expired(t.service);
        else this.counts.deleted++;
      } else if (t.type === 'publish.refused' && t.reason.includes('services.agent_publish is "declared"')) {
        this.counts.undeclared++;
      }
    }
    this.checkVips(mesh);
    this.checkOwnership(mesh, cmd);
    const unlisted = new Set(mesh.unlistedPublished(keptByFor(shareRuleOf(this.truth.view(clusterKind)))));
    for (const name of unlisted) {
      if (this.unlistedSince.has(name)) continue;
      this.unlistedSince.set(name, this.host.now());
      this.unlistedTerm.set(name, this.host.leaderTerm());
      this.host.note(`service ${name} is unlisted`);
    }
    for (const name of [...this.unlistedSince.keys()]) {
      if (unlisted.has(name)) continue;
      this.unlistedSince.delete(name);
      this.unlistedTerm.delete(name);
      this.host.note(`service ${name} is listed again, or gone`);
    }
  }

  private expired(service: string): void {
    this.counts.expired++;
    if ((this.unlistedTerm.get(service) ?? 0) !== this.host.leaderTerm()) this.counts.expiredAcrossLeaders++;
    // From LISTER_SHARE_VERSION a service is kept by its endpoints only (publisher-shares.ts
    // keptByFor): an agent that names it without being one (refused, or its endpoint went with an
    // operator's delete and its controller has not yet looked again since another agent created it
    // anew: agents-sim.ts checkHostsHealed) no longer keeps it.
    const byEndpoints = keptByFor(shareRuleOf(this.truth.view(clusterKind))) === 'endpoints';
    const endpoints = this.seen.get(service)?.endpoints ?? [];
    const listers = this.host.connectedListers(service).filter((a) => !byEndpoints || endpoints.includes(a));
    if (listers.length > 0) this.host.violation(`service ${service} expired while ${listers.join(', ')} list it, connected, their publish committed${byEndpoints ? ', its endpoints' : ''}`);
    const since = this.unlistedSince.get(service);
    const unlistedMs = since === undefined ? 0 : this.host.now() - since;
    if (unlistedMs < this.graceMs) this.host.violation(`service ${service} expired after ${unlistedMs}ms unlisted in the log; the leader's grace is ${this.graceMs}ms`);
  }

  /** Every live service holds the VIP it was assigned, and no other service holds it. */
  private checkVips(mesh: MeshView): void {
    const holders = new Map<string, string>();
    const live = new Set<string>();
    for (const s of services(mesh)) {
      live.add(s.name);
      const vip = s.status.vip;
      if (vip === undefined) continue;
      const other = holders.get(vip);
      if (other !== undefined) this.host.violation(`services ${other} and ${s.name} share VIP ${vip}`);
      holders.set(vip, s.name);
      const assigned = this.vipOf.get(s.name);
      if (assigned !== vip) this.host.violation(`service ${s.name} holds ${vip}; it was assigned ${assigned ?? 'none'} and never released it`);
    }
    for (const [name, vip] of this.vipOf) if (!live.has(name)) this.host.violation(`service ${name} is gone without releasing ${vip}`);
  }

  private checkOwnership(mesh: MeshView, cmd: KindCommand): void {
    const raised = !this.ownership && this.truth.view(clusterKind).supports(SERVICE_OWNERSHIP_VERSION);
    this.ownership ||= raised;
    const operatorWrite = cmd.kind === 'mesh' && (cmd as { op?: string }).op === 'apply';
    const report = cmd.kind === 'mesh' && (cmd as { op?: string }).op === 'report';
    // Written again here rather than read through declaredOnly(): the check is not the code it checks.
    const declared = report && this.truth.view(settingsKind).get('services.agent_publish') === 'declared' && this.truth.view(clusterKind).supports(DECLARED_PUBLISH_VERSION);
    const publishers = new Set(cmd.kind === 'mesh' && (cmd as { op?: string }).op === 'report' ? ((cmd as { publish?: readonly { agent: string }[] }).publish ?? []).map((p) => p.agent) : []);
    const live = new Set<string>();
    for (const s of services(mesh)) {
      live.add(s.name);
      const before = this.seen.get(s.name);
      const now: Seen = { content: JSON.stringify([s.spec, s.labels]), operator: !mesh.publishedSpec(s.name), endpoints: (s.status.endpoints ?? []).map((e) => e.agent) };
      this.seen.set(s.name, now);
      const changed = before !== undefined && before.content !== now.content;
      if (declared && !now.operator) {
        if (before === undefined) this.host.violation(`a report created service ${s.name} while services.agent_publish is declared`);
        else if (!before.operator) {
          const joined = now.endpoints.filter((a) => !before.endpoints.includes(a));
          if (joined.length > 0) this.host.violation(`${joined.join(', ')} joined agents' service ${s.name} while services.agent_publish is declared`);
          if (changed) this.host.violation(`a report changed agents' service ${s.name} while services.agent_publish is declared`);
        }
      }
      if (changed && !operatorWrite) {
        if (before.operator) this.host.violation(`a report changed operator's service ${s.name}: ${before.content} -> ${now.content}`);
        else if (before.endpoints.some((a) => !publishers.has(a))) this.host.violation(`a report changed service ${s.name} (${before.content} -> ${now.content}) while ${before.endpoints.filter((a) => !publishers.has(a)).join(', ')} served it`);
      }
      if (!this.ownership || !now.operator) {
        this.kept.delete(s.name);
        continue;
      }
      // Endpoints from before it was the operator's stay until the operator's next write.
      let kept = this.kept.get(s.name) ?? new Set<string>();
      if (raised || (before !== undefined && !before.operator)) kept = changed ? new Set() : new Set(now.endpoints);
      else if (changed) kept = new Set();
      for (const a of kept) if (!now.endpoints.includes(a)) kept.delete(a);
      this.kept.set(s.name, kept);
      if (kept.size > 0) this.counts.kept++;
      const stray = now.endpoints.filter((a) => !allows(s.labels, a) && !kept.has(a));
      if (stray.length > 0) this.host.violation(`operator's service ${s.name} (${ALLOWED_AGENTS_LABEL}=${JSON.stringify(s.labels[ALLOWED_AGENTS_LABEL] ?? null)}) lists ${stray.join(', ')}, which it does not allow`);
    }
    for (const name of [...this.seen.keys()]) if (!live.has(name)) this.seen.delete(name);
    for (const name of [...this.kept.keys()]) if (!live.has(name)) this.kept.delete(name);
  }

  /** When the service was created (the log's length then); undefined: not seen. */
  createdAt(service: string): number | undefined {
    return this.created.get(service);
  }

  /** A replica at the log's end must hold the leader's state (`theirs`, its snapshot now), byte for byte. */
  checkReplica(id: string, sm: StateMachine, theirs: Uint8Array): void {
    if (sm.appliedIndex !== this.truth.appliedIndex) return;
    const mine = sm.snapshot();
    if (Buffer.compare(Buffer.from(mine), Buffer.from(theirs)) === 0) return;
    this.host.violation(`${id}'s state at index ${sm.appliedIndex} differs from the leader's: ${snapshotDifference(mine, theirs)}`);
  }
}

/** The first kind (or field) two snapshots differ in. */
function snapshotDifference(a: Uint8Array, b: Uint8Array): string {
  const parse = (d: Uint8Array): Record<string, unknown> => JSON.parse(Buffer.from(d.subarray(1)).toString('utf8')) as Record<string, unknown>;
  const x = parse(a);
  const y = parse(b);
  const kx = (x['kinds'] ?? {}) as Record<string, unknown>;
  const ky = (y['kinds'] ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(kx), ...Object.keys(ky)])) {
    const sx = JSON.stringify(kx[k]);
    const sy = JSON.stringify(ky[k]);
    if (sx === sy) continue;
    const fx = (kx[k] ?? {}) as Record<string, unknown>;
    const fy = (ky[k] ?? {}) as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(fx), ...Object.keys(fy)])].filter((f) => JSON.stringify(fx[f]) !== JSON.stringify(fy[f]));
    return `kind ${k}, fields ${fields.join(', ')}: ${fields.map((f) => `${JSON.stringify(fx[f])?.slice(0, 200)} vs ${JSON.stringify(fy[f])?.slice(0, 200)}`).join('; ')}`;
  }
  for (const f of ['appliedIndex', 'revision', 'clients']) if (JSON.stringify(x[f]) !== JSON.stringify(y[f])) return `field ${f}`;
  return 'bytes only';
}
