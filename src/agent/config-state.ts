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

/** An accepted configuration not yet in force (the agent writes --out first, then commits). */
export interface Candidate {
  readonly version: number;
  readonly cluster: string;
  readonly resources: ReadonlyMap<ResourceKey, Resource>;
}

export type PushVerdict =
  | { readonly type: 'accept'; readonly next: Candidate }
  | { readonly type: 'reject'; readonly error: string }
  /** The delta does not apply to what this agent holds: reconnect and say what it holds. */
  | { readonly type: 'resync'; readonly reason: string };

/** The --out file and GET /config: `{ version, cluster, resources }`. */
export interface ConfigJson {
  readonly version: number;
  readonly cluster: string;
  readonly resources: readonly Resource[];
}

export class AgentConfig {
  private current: ReadonlyMap<ResourceKey, Resource> = new Map();
  private ver: number | null = null;
  private cluster = '';

  constructor(private readonly protocols: ReadonlySet<string>) {}

  /** The accepted version; null before the first accepted push. */
  get version(): number | null {
    return this.ver;
  }

  get clusterId(): string {
    return this.cluster;
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
  }

  /** Judge a push against what is in force; nothing changes until commit(). */
  judge(push: IncomingPush): PushVerdict {
    if (push.baseVersion !== null && push.baseVersion !== this.ver) {
      return { type: 'resync', reason: `a delta from version ${push.baseVersion}, but this agent holds ${this.ver === null ? 'nothing' : `version ${this.ver}`}` };
    }
    const next = new Map(push.baseVersion === null ? [] : this.current);
    for (const key of push.removes) next.delete(key);
    for (const r of push.upserts) next.set(resourceKey(r.kind, r.name), r);
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
    if (problems.length > 0) return { type: 'reject', error: problems.join('; ') };
    return { type: 'accept', next: { version: push.version, cluster: push.clusterId, resources: next } };
  }

  /** Put an accepted candidate in force. */
  commit(next: Candidate): void {
    this.current = next.resources;
    this.ver = next.version;
    this.cluster = next.cluster;
  }

  /** A candidate as the --out file and GET /config show it. */
  static json(c: Candidate): ConfigJson {
    return { version: c.version, cluster: c.cluster, resources: [...c.resources.values()].sort(compareResources) };
  }

  /** What it holds, as a hello reports it (like xDS's initial_resource_versions). */
  manifest(): ManifestEntry[] {
    return [...this.current].map(([key, r]) => ({ key, revision: r.revision }));
  }

  json(): ConfigJson {
    return { version: this.ver ?? 0, cluster: this.cluster, resources: [...this.current.values()].sort(compareResources) };
  }
}
