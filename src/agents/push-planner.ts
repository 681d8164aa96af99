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

/** A current target's resources (plan-job.ts reads a plan's upserts through it). */
export interface TargetResources {
  /** The resource of the target manifest's entry `index`. */
  at(index: number): Resource | undefined;
  get(key: ResourceKey): Resource | undefined;
}

interface Target {
  readonly manifest: Manifest;
  /** The entries built for it (the manifest's own, or equal ones when it was interned before) ... */
  readonly entries: readonly ManifestEntry[];
  /** ... and the resource of each entry: resources[i] is entries[i]'s. */
  readonly resources: readonly Resource[];
}

/** The cache key of the push from `base` to `target` (`full`: the whole configuration). */
function planKey(base: Manifest | null, target: Manifest, full: boolean): string {
  return `${full || base === null ? 'full' : base.id}>${target.id}`;
}

/**
 * A selection's manifest entries and the resource of each, in one pass. A resource the previous
 * target of the selection held (the same object: resources are never changed in place) keeps
 * its entry, key string and all: after a change of one resource in a mesh of 75,000, only that
 * one is made anew. No map by key either (lookups search the sorted entries): a Map of 75,000
 * keys built at every change of the mesh cost 25-30 ms of the loop, and the pair arrays before
 * it 0.2-0.6 s on a busy core.
 */
function buildTarget(selected: readonly Resource[], prev: Target | undefined): { entries: ManifestEntry[]; resources: Resource[] } {
  // Sized once: grown by push, the two arrays of 75,000 were copied again and again.
  const entries = new Array<ManifestEntry>(selected.length);
  const resources = new Array<Resource>(selected.length);
  const old = prev?.resources ?? [];
  const oldEntries = prev?.entries ?? [];
  let i = 0;
  let n = 0;
  /** Whether entries[n - 1] is an old entry as it was (two of those in a row never share a key). */
  let lastTaken = false;
  for (const r of selected) {
    // Both lists are sorted by kind, then name: the old one's cursor only moves forward.
    while (i < old.length && old[i] !== r && compareResources(old[i]!, r) < 0) i++;
    const taken = i < old.length && old[i] === r;
    let entry = taken ? oldEntries[i++]! : { key: resourceKey(r.kind, r.name), revision: r.revision };
    // Sorted by kind, then name: so are their keys, and a key twice is twice in a row; it keeps its last resource.
    // Only a new entry, or one after a new entry, can repeat a key: the old ones are distinct, and
    // comparing only then spares the loop a read of every key, scattered across the heap.
    if (!(taken && lastTaken) && n > 0 && entries[n - 1]!.key === entry.key) {
      entry = { key: entry.key, revision: r.revision };
      n--;
    }
    lastTaken = taken && entry === oldEntries[i - 1];
    entries[n] = entry;
    resources[n++] = r;
  }
  entries.length = n;
  resources.length = n;
  return { entries, resources };
}

/**
 * A target's resources: by index, the resource built beside that entry (when the manifest is the
 * one built with them; an interned one built earlier is searched by key); by key, a binary search
 * of the sorted entries.
 */
function resourcesIn(target: Target): TargetResources {
  const { manifest, entries, resources } = target;
  const get = (key: ResourceKey): Resource | undefined => {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    return entries[lo]?.key === key ? resources[lo] : undefined;
  };
  const own = manifest.entries === entries;
  return {
    get,
    at: (index) => (own ? resources[index] : manifest.entries[index] === undefined ? undefined : get(manifest.entries[index].key)),
  };
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
    const { entries, resources } = buildTarget(sel.resources(), cur);
    const manifest = this.store.intern(key, sel.version, () => new Manifest(sel.version, entries));
    if (cur !== undefined) this.retire(cur.manifest);
    const target: Target = { manifest, entries, resources };
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
   * A target that is no longer current, and the plans to it: new pushes are planned only to a
   * current target (a job begun before it retired finishes to it, uncached: fresh-plan-budget.ts),
   * and a plan pins its encoded body (wire.ts). Kept, 64 whole configurations of a big
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

  /** Whether `target` is a current target (only their plans are cached; a retired one's are dropped). */
  isCurrent(target: Manifest): boolean {
    return this.byManifest.has(target);
  }

  /** A current target's resources by key (for a plan made elsewhere, in steps: plan-job.ts). */
  resourcesOf(target: Manifest): TargetResources {
    return this.resourcesOfTarget(target);
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
    const byKey = this.resourcesOfTarget(target);
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

  private resourcesOfTarget(target: Manifest): TargetResources {
    const t = this.byManifest.get(target);
    if (t === undefined) throw new Error(`manifest ${target.id} (version ${target.version}) is not a current target`);
    return resourcesIn(t);
  }
}
