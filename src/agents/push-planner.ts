/**
 * Turns "agent holds manifest A, should hold B" into the push to send, and shares the work:
 * the manifest of a selection at a version is built once, and the delta from one manifest to
 * another once (a small cache), so a change that moves 1,000 agents from one version to the
 * next costs one diff and one encoding, not 1,000.
 */
import { compareResources, resourceKey, type Resource, type ResourceKey } from '../statemachine/index.js';
import { Manifest, diffManifests, type ManifestEntry, type ManifestStore } from './manifest.js';
import type { ClusterState, ConfigSelector, SelectorInput } from './selection.js';

export interface PushPlan {
  /** The version the delta applies to; null: the push is the whole configuration (replace everything). */
  readonly baseVersion: number | null;
  readonly version: number;
  /** Resources to add or replace, sorted. */
  readonly upserts: readonly Resource[];
  /** Keys to drop, sorted. */
  readonly removes: readonly ResourceKey[];
  /** Resources in the configuration after the push. */
  readonly resources: number;
}

interface Target {
  readonly manifest: Manifest;
  readonly byKey: ReadonlyMap<ResourceKey, Resource>;
  /** The selection's resources it was built from, in order: entry i is resource i's. */
  readonly resources: readonly Resource[];
}

/** The cache key of the push from `base` to `target` (`full`: the whole configuration). */
function planKey(base: Manifest | null, target: Manifest, full: boolean): string {
  return `${full || base === null ? 'full' : base.id}>${target.id}`;
}

/**
 * A selection's manifest entries and resources by key, in one pass. A resource the previous
 * target of the selection held (the same object: resources are never changed in place) keeps
 * its entry, key string and all: after a change of one resource in a mesh of 75,000, only that
 * one is made anew. No pair arrays either: the two spreads of 75,000 pairs this replaced, and
 * the collections they set off, held the loop 0.2-0.6 s on a busy core.
 */
function buildTarget(resources: readonly Resource[], prev: Target | undefined): { byKey: Map<ResourceKey, Resource>; entries: ManifestEntry[] } {
  const byKey = new Map<ResourceKey, Resource>();
  const entries: ManifestEntry[] = [];
  const old = prev !== undefined && prev.resources.length === prev.manifest.entries.length ? prev.resources : [];
  const oldEntries = prev?.manifest.entries ?? [];
  let i = 0;
  for (const r of resources) {
    // Both lists are sorted by kind, then name: the old one's cursor only moves forward.
    while (i < old.length && old[i] !== r && compareResources(old[i]!, r) < 0) i++;
    const reused = i < old.length && old[i] === r ? oldEntries[i]! : null;
    if (reused !== null) i++;
    const entry = reused ?? { key: resourceKey(r.kind, r.name), revision: r.revision };
    // Sorted by kind, then name: so are their keys; a key twice keeps its last resource, as a Map built from them does.
    if (byKey.has(entry.key)) entries[entries.findIndex((e) => e.key === entry.key)] = { key: entry.key, revision: r.revision };
    else entries.push(entry);
    byKey.set(entry.key, r);
  }
  return { byKey, entries };
}

/** Deltas kept; each is a few references to shared resource objects. */
const PLAN_CACHE_SIZE = 64;

export class PushPlanner {
  private readonly current = new Map<string, Target>();
  private readonly byManifest = new Map<Manifest, Target>();
  private readonly plans = new Map<string, PushPlan>();

  constructor(
    private readonly store: ManifestStore,
    private readonly selector: ConfigSelector,
  ) {}

  /**
   * The manifest the agent should hold now; null while its configuration is not decided (see
   * ConfigSelector). The planner holds one reference to each current target.
   */
  target(agent: SelectorInput, state: ClusterState): Manifest | null {
    const sel = this.selector.select(agent, state);
    if (sel === null) return null;
    const key = this.selector.key(agent);
    const cur = this.current.get(key);
    if (cur !== undefined && cur.manifest.version === sel.version) return cur.manifest;
    const resources = sel.resources();
    const { byKey, entries } = buildTarget(resources, cur);
    const manifest = this.store.intern(key, sel.version, () => new Manifest(sel.version, entries));
    if (cur !== undefined) this.retire(cur.manifest);
    const target: Target = { manifest, byKey, resources: manifest.entries === entries ? resources : [] };
    this.current.set(key, target);
    this.byManifest.set(manifest, target);
    return manifest;
  }

  /** No stream follows selection `key` any more: its current target is released. */
  forget(key: string): void {
    const cur = this.current.get(key);
    if (cur === undefined) return;
    this.current.delete(key);
    this.retire(cur.manifest);
  }

  /**
   * A target that is no longer current, and the plans to it: pushes only ever go to a current
   * target, and a plan pins its encoded body (wire.ts). Kept, 64 whole configurations of a big
   * mesh (one per version, as an agent's publishes made new ones) held 4 GiB.
   */
  private retire(manifest: Manifest): void {
    this.byManifest.delete(manifest);
    this.store.release(manifest);
    const suffix = `>${manifest.id}`;
    for (const key of [...this.plans.keys()]) if (key.endsWith(suffix)) this.plans.delete(key);
  }

  /** Plans cached (for tests and metrics). */
  get cachedPlans(): number {
    return this.plans.size;
  }

  /** The push from `base` to `target` when plan() would answer it from the cache (no diff, no new body); else null. */
  cachedPlan(base: Manifest | null, target: Manifest, full: boolean): PushPlan | null {
    return this.plans.get(planKey(base, target, full)) ?? null;
  }

  /** Whether `target` is a current target (pushes go only to those; a retired one's plans are dropped). */
  isCurrent(target: Manifest): boolean {
    return this.byManifest.has(target);
  }

  /** A current target's resources by key (for a plan made elsewhere, in steps: plan-job.ts). */
  resourcesOf(target: Manifest): ReadonlyMap<ResourceKey, Resource> {
    return this.byKeyOf(target);
  }

  /** A plan made elsewhere (plan-job.ts) from `base` to a current `target`, kept as plan() keeps its own. */
  remember(base: Manifest | null, target: Manifest, full: boolean, plan: PushPlan): void {
    this.keep(planKey(base, target, full), plan);
  }

  /** The push from `base` (what the agent acknowledged; null: nothing) to `target` (a current target). */
  plan(base: Manifest | null, target: Manifest, full: boolean): PushPlan {
    const cacheKey = planKey(base, target, full);
    const cached = this.plans.get(cacheKey);
    if (cached !== undefined) return cached;
    const byKey = this.byKeyOf(target);
    const diff = diffManifests(full ? null : base, target);
    const plan: PushPlan = {
      baseVersion: full || base === null ? null : base.version,
      version: target.version,
      upserts: diff.upserts.map((k) => byKey.get(k)!),
      removes: diff.removes,
      resources: target.size,
    };
    this.keep(cacheKey, plan);
    return plan;
  }

  private keep(cacheKey: string, plan: PushPlan): void {
    this.plans.set(cacheKey, plan);
    if (this.plans.size > PLAN_CACHE_SIZE) this.plans.delete(this.plans.keys().next().value!);
  }

  private byKeyOf(target: Manifest): ReadonlyMap<ResourceKey, Resource> {
    const t = this.byManifest.get(target);
    if (t === undefined) throw new Error(`manifest ${target.id} (version ${target.version}) is not a current target`);
    return t.byKey;
  }
}
