/**
 * The configuration an agent accepted, and its judgement of each push: the agent's side of the
 * ACK/NACK protocol, pure. A push is applied to a copy; the copy is accepted only when every
 * service uses a protocol this agent speaks and every route names services it holds (the
 * consistency go-control-plane's Snapshot.Consistent() checks on the server side). Otherwise
 * the push is rejected with the reason and the last good configuration stays in force.
 */
import { compareResources, resourceKey, routeEnds, type Resource, type ResourceKey } from '../statemachine/index.js';
import type { ManifestEntry } from '../agents/manifest.js';

export interface IncomingPush {
  readonly version: number;
  /** The version the delta applies to; null: a whole configuration. */
  readonly baseVersion: number | null;
  readonly clusterId: string;
  readonly upserts: readonly Resource[];
  readonly removes: readonly ResourceKey[];
}

/**
 * An accepted configuration not yet in force (the agent writes --out first, then commits). A
 * delta holds only what the push changes, so a push costs what it changes, not the size of the
 * whole configuration: it must be committed before anything else is (the same turn), or made
 * whole first (whole()) when something is awaited in between.
 */
export type Candidate = WholeCandidate | DeltaCandidate;

export interface WholeCandidate {
  readonly kind: 'whole';
  readonly version: number;
  readonly cluster: string;
  readonly resources: ReadonlyMap<ResourceKey, Resource>;
}

export interface DeltaCandidate {
  readonly kind: 'delta';
  readonly version: number;
  readonly cluster: string;
  /** The commit count of the configuration it was judged against. */
  readonly base: number;
  readonly upserts: readonly Resource[];
  readonly removes: readonly ResourceKey[];
}

export type PushVerdict =
  | { readonly type: 'accept'; readonly next: Candidate }
  | { readonly type: 'reject'; readonly error: string }
  /** The delta does not apply to what this agent holds: reconnect and say what it holds. */
  | { readonly type: 'resync'; readonly reason: string };

/** The --out file and GET /config: `{ version, cluster, clusterName?, resources }`. */
export interface ConfigJson {
  readonly version: number;
  readonly cluster: string;
  /** The `cluster.name` of the cluster it came from (cluster-guard.ts); absent: not known. */
  readonly clusterName?: string;
  readonly resources: readonly Resource[];
}

export class AgentConfig {
  /** Owned here and changed in place by a delta's commit: never handed out. */
  private current = new Map<ResourceKey, Resource>();
  private ver: number | null = null;
  private cluster = '';
  /** The cluster.name of the cluster `cluster` is the id of; '' when not known. */
  private name = '';
  /** Commits so far: a delta candidate applies only to the configuration it was judged against. */
  private commits = 0;
  /** A version this process judged and rejected while holding what it holds; null: none. */
  private rejectedVer: number | null = null;

  constructor(private readonly protocols: ReadonlySet<string>) {}

  /** The accepted version; null before the first accepted push. */
  get version(): number | null {
    return this.ver;
  }

  get clusterId(): string {
    return this.cluster;
  }

  /** The `cluster.name` its configuration came from; '' when nothing is held or the name is not known. */
  get clusterName(): string {
    return this.name;
  }

  /** A controller of the cluster it holds told its name (an --out file from before names were kept). */
  learnClusterName(name: string): void {
    if (this.ver !== null && this.name === '') this.name = name;
  }

  /**
   * The version this process rejected (NACKed) while holding what it holds, which its hello
   * tells a controller so that the rejection stands on a reconnect; null: none. A restart
   * forgets it, so the restarted agent is offered the version again.
   */
  get rejected(): number | null {
    return this.rejectedVer;
  }

  /** This process judged `version` and rejected it (its configuration, not a local failure). */
  reject(version: number): void {
    // A lagging controller may offer an older version after a newer one was rejected.
    this.rejectedVer = Math.max(this.rejectedVer ?? 0, version);
  }

  get size(): number {
    return this.current.size;
  }

  get(key: ResourceKey): Resource | null {
    return this.current.get(key) ?? null;
  }

  /** Start from a configuration accepted before (the --out file of a previous run). */
  restore(config: ConfigJson): void {
    this.current = new Map(config.resources.map((r) => [resourceKey(r.kind, r.name), r]));
    this.ver = config.version;
    this.cluster = config.cluster;
    this.name = config.clusterName ?? '';
    this.commits++;
    this.rejectedVer = null;
  }

  /** Judge a push against what is in force; nothing changes until commit(). */
  judge(push: IncomingPush): PushVerdict {
    if (push.baseVersion !== null && push.baseVersion !== this.ver) {
      return { type: 'resync', reason: `a delta from version ${push.baseVersion}, but this agent holds ${this.ver === null ? 'nothing' : `version ${this.ver}`}` };
    }
    // What is in force was judged whole when it was accepted, and protocols do not change: a
    // delta that passes the check of what it touches is sound. Anything else is judged whole,
    // which also words the refusal.
    if (push.baseVersion !== null && this.deltaIsSound(push)) {
      return { type: 'accept', next: { kind: 'delta', version: push.version, cluster: push.clusterId, base: this.commits, upserts: push.upserts, removes: push.removes } };
    }
    const next = new Map(push.baseVersion === null ? [] : this.current);
    applyDelta(next, push.upserts, push.removes);
    const problems = this.problems(next);
    if (problems.length > 0) return { type: 'reject', error: problems.join('; ') };
    return { type: 'accept', next: { kind: 'whole', version: push.version, cluster: push.clusterId, resources: next } };
  }

  /** A candidate as a whole configuration, to be committed later (after a write, say). */
  whole(c: Candidate): WholeCandidate {
    if (c.kind === 'whole') return c;
    this.checkBase(c);
    const resources = new Map(this.current);
    applyDelta(resources, c.upserts, c.removes);
    return { kind: 'whole', version: c.version, cluster: c.cluster, resources };
  }

  /** Put an accepted candidate in force; `clusterName`: its cluster's, from the welcome (default: kept while the id is). */
  commit(next: Candidate, clusterName: string = next.cluster === this.cluster ? this.name : ''): void {
    if (next.kind === 'whole') this.current = new Map(next.resources);
    else {
      this.checkBase(next);
      applyDelta(this.current, next.upserts, next.removes);
    }
    this.ver = next.version;
    this.cluster = next.cluster;
    this.name = clusterName;
    this.commits++;
    this.rejectedVer = null;
  }

  /** A candidate as the --out file and GET /config show it. */
  static json(c: WholeCandidate, clusterName = ''): ConfigJson {
    return { version: c.version, cluster: c.cluster, ...(clusterName === '' ? {} : { clusterName }), resources: [...c.resources.values()].sort(compareResources) };
  }

  /** What it holds, as a hello reports it (like xDS's initial_resource_versions). */
  manifest(): ManifestEntry[] {
    return [...this.current].map(([key, r]) => ({ key, revision: r.revision }));
  }

  json(): ConfigJson {
    return { version: this.ver ?? 0, cluster: this.cluster, ...(this.name === '' ? {} : { clusterName: this.name }), resources: [...this.current.values()].sort(compareResources) };
  }

  private checkBase(c: DeltaCandidate): void {
    if (c.base !== this.commits) throw new Error(`a delta to version ${c.version} was judged against another configuration than the one in force`);
  }

  /**
   * Whether the configuration after `push` keeps the rules, looking only at what it touches:
   * every service it upserts uses a protocol this agent speaks, every route it upserts names
   * services the result holds, and, when it removes a service, every route kept still does.
   */
  private deltaIsSound(push: IncomingPush): boolean {
    // The usual delta (a change to services, nothing removed) needs no sets: only a route looks
    // up what the result holds.
    if (push.removes.length === 0 && push.upserts.every((r) => r.kind === 'service')) {
      for (const r of push.upserts) if (r.kind === 'service' && !this.protocols.has(r.spec.protocol)) return false;
      return true;
    }
    const removed = new Set(push.removes);
    const upserted = new Set<ResourceKey>();
    for (const r of push.upserts) upserted.add(resourceKey(r.kind, r.name));
    const holds = (key: ResourceKey): boolean => upserted.has(key) || (this.current.has(key) && !removed.has(key));
    for (const r of push.upserts) {
      if (r.kind === 'service' && !this.protocols.has(r.spec.protocol)) return false;
      if (r.kind === 'route') for (const s of routeEnds(r.spec)) if (!holds(resourceKey('service', s))) return false;
    }
    let losesService = false;
    for (const key of removed) if (!upserted.has(key) && this.current.get(key)?.kind === 'service') losesService = true;
    if (!losesService) return true;
    for (const [key, r] of this.current) {
      if (r.kind !== 'route' || removed.has(key) || upserted.has(key)) continue;
      for (const s of routeEnds(r.spec)) if (!holds(resourceKey('service', s))) return false;
    }
    return true;
  }

  /** The rules a whole configuration breaks, worded (at most ten). */
  private problems(next: ReadonlyMap<ResourceKey, Resource>): string[] {
    const problems: string[] = [];
    for (const r of next.values()) {
      if (r.kind === 'service' && !this.protocols.has(r.spec.protocol)) {
        problems.push(`service ${JSON.stringify(r.name)} uses protocol ${JSON.stringify(r.spec.protocol)}, which this agent does not support (it supports ${[...this.protocols].sort().join(', ') || 'none'})`);
      }
      if (r.kind === 'route') {
        for (const s of routeEnds(r.spec)) {
          if (!next.has(resourceKey('service', s))) problems.push(`route ${JSON.stringify(r.name)} names service ${JSON.stringify(s)}, which the configuration lacks`);
        }
      }
      if (problems.length >= 10) break;
    }
    return problems;
  }
}

/** Removes first, then upserts (a push that does both to one key keeps the upsert). */
function applyDelta(into: Map<ResourceKey, Resource>, upserts: readonly Resource[], removes: readonly ResourceKey[]): void {
  for (const key of removes) into.delete(key);
  for (const r of upserts) into.set(resourceKey(r.kind, r.name), r);
}
