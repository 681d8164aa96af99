/**
 * A manifest is what an agent holds at a version: the sorted keys of its resources and the
 * revision of each. Two manifests are enough to compute a delta (what to upsert, what to
 * remove), so a controller keeps manifests, not configurations, and only those some agent is
 * on or being sent (ManifestStore counts references; see the held* metrics).
 */
import type { MeshView, ResourceKey, ResourceType } from '../statemachine/index.js';

export interface ManifestEntry {
  readonly key: ResourceKey;
  readonly revision: number;
}

let nextId = 1;

export class Manifest {
  /** Unique in this process: keys the cache of computed deltas. */
  readonly id = nextId++;

  /** `entries` must be sorted by key without duplicates (see fromEntries for untrusted input). */
  constructor(
    readonly version: number,
    readonly entries: readonly ManifestEntry[],
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Sorts and checks entries that came from outside; null when a key repeats. */
  static fromEntries(version: number, entries: readonly ManifestEntry[]): Manifest | null {
    const sorted = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (let i = 1; i < sorted.length; i++) if (sorted[i - 1]!.key === sorted[i]!.key) return null;
    return new Manifest(version, sorted);
  }

  sameContent(other: Manifest): boolean {
    if (other.entries.length !== this.entries.length) return false;
    return this.entries.every((e, i) => e.key === other.entries[i]!.key && e.revision === other.entries[i]!.revision);
  }
}

export const EMPTY_MANIFEST_VERSION = 0;

/**
 * Whether a manifest an agent says it holds at its version disagrees with the state now: a
 * resource whose last change is at or before that version had the same revision then, so an
 * entry at another revision was never sent. Resources deleted since cannot be checked.
 */
export function contradictsState(manifest: Manifest, mesh: MeshView): boolean {
  for (const e of manifest.entries) {
    const slash = e.key.indexOf('/');
    const now = mesh.get(e.key.slice(0, slash) as ResourceType, e.key.slice(slash + 1));
    if (now !== null && now.revision <= manifest.version && now.revision !== e.revision) return true;
  }
  return false;
}

export interface ManifestDiff {
  /** Keys new or changed in `to`, sorted. */
  readonly upserts: readonly ResourceKey[];
  /** Keys in `from` that `to` lacks, sorted. */
  readonly removes: readonly ResourceKey[];
}

/** One merge pass over two sorted manifests; `from` null means the agent holds nothing. */
export function diffManifests(from: Manifest | null, to: Manifest): ManifestDiff {
  const a = from?.entries ?? [];
  const b = to.entries;
  const upserts: ResourceKey[] = [];
  const removes: ResourceKey[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.key < y.key)) {
      removes.push(x!.key);
      i++;
    } else if (x === undefined || y.key < x.key) {
      upserts.push(y.key);
      j++;
    } else {
      if (x.revision !== y.revision) upserts.push(y.key);
      i++;
      j++;
    }
  }
  return { upserts, removes };
}

/**
 * Manifests by reference count. `intern` hands out the one shared manifest of a selection at a
 * version (all agents of a selection on one version share one object); `adopt` counts a
 * manifest an agent brought in its hello. A manifest is dropped when its count reaches zero.
 */
export class ManifestStore {
  private readonly counts = new Map<Manifest, number>();
  private readonly interned = new Map<string, Manifest>();
  private readonly internKeys = new Map<Manifest, string>();
  private entryCount = 0;

  /** The manifest of `selection` at `version`, built once while anyone holds it; counts one reference. */
  intern(selection: string, version: number, build: () => Manifest): Manifest {
    const key = `${selection}@${version}`;
    let m = this.interned.get(key);
    if (m === undefined) {
      m = build();
      this.interned.set(key, m);
      this.internKeys.set(m, key);
    }
    this.retain(m);
    return m;
  }

  /** The interned manifest of `selection` at `version`, if one is held (no reference counted). */
  peek(selection: string, version: number): Manifest | null {
    return this.interned.get(`${selection}@${version}`) ?? null;
  }

  retain(m: Manifest): Manifest {
    const n = this.counts.get(m) ?? 0;
    if (n === 0) this.entryCount += m.size;
    this.counts.set(m, n + 1);
    return m;
  }

  release(m: Manifest | null): void {
    if (m === null) return;
    const n = this.counts.get(m);
    if (n === undefined) return;
    if (n > 1) {
      this.counts.set(m, n - 1);
      return;
    }
    this.counts.delete(m);
    this.entryCount -= m.size;
    const key = this.internKeys.get(m);
    if (key !== undefined) {
      this.internKeys.delete(m);
      this.interned.delete(key);
    }
  }

  /** Manifests held now. */
  get held(): number {
    return this.counts.size;
  }

  /** Entries across the manifests held now. */
  get heldEntries(): number {
    return this.entryCount;
  }

  references(m: Manifest): number {
    return this.counts.get(m) ?? 0;
  }
}
