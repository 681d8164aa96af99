/**
 * The answer to `ctl resources` on any controller: every member (this one included) asked
 * directly and in parallel, each within a short deadline, so a dead member does not hold the
 * answer up. The static figures come from the member's cache file while it is fresh (no remote
 * call for them); a missing, expired or corrupt cache costs exactly one fetch and a rewrite,
 * also when several requests want it at once; `refresh` forces the fetch. Disk free and load
 * are asked live each time and shown only when read by this call: a member that does not
 * answer in time, or answers garbage, is listed as unreachable with its cached static figures
 * and null for those two (the contract, docs/reference.md), since an old free-disk figure
 * beside fresh ones reads as current. A cached entry serves only the member incarnation it was
 * fetched from (a member rebuilt at the same address may be another machine), and the cache of a
 * member no longer in the cluster is deleted.
 *
 * Everything outside comes through ports (the fetch, the cache, the clock, the timers), so the
 * rules are tested with fakes (test/resources/).
 */
import type { Scheduler } from '../util/clock.js';
import { freshness, type CacheEntry } from './cache-entry.js';
import type { CacheRead, ResourcesCacheStore } from './cache-store.js';
import { ResourcesError } from './errors.js';
import type { LiveResources, MachineReading, MemberResourcesRow, ResourceMember, ResourcesReport, StaticResources } from './types.js';

export interface GathererPorts {
  readonly self: string;
  /** Reads this machine, or asks a member at its address; rejects when it cannot. */
  fetch(member: ResourceMember, includeStatic: boolean, deadlineMs: number): Promise<MachineReading>;
  readonly cache: ResourcesCacheStore;
  readonly clock: Pick<Scheduler, 'wallClockMs' | 'after'>;
  readonly ttlMs: number;
  /** How long one member may take to answer. */
  readonly deadlineMs: number;
  /** A remote member was asked: for its static figures (and live ones), or for live ones only. */
  onRemoteCall?(kind: 'static' | 'live'): void;
  /** How a member's cache was found. */
  onCacheLookup?(result: 'fresh' | 'missing' | 'expired' | 'corrupt' | 'refresh'): void;
  /** A cache file could not be written (the answer still holds the figures). */
  onCacheWriteFailed?(member: string, err: unknown): void;
  /** The caches of members no longer in the cluster could not be deleted. */
  onCachePruneFailed?(err: unknown): void;
}

interface StaticFetch {
  readonly entry: CacheEntry;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function row(
  member: ResourceMember,
  reachable: boolean,
  cached: boolean,
  fetchedAt: number | null,
  s: StaticResources | null,
  live: LiveResources | null,
  error: string | null,
): MemberResourcesRow {
  return {
    id: member.id,
    reachable,
    cached,
    fetchedAt: fetchedAt === null ? null : iso(fetchedAt),
    cpus: s?.cpus ?? null,
    cpuModel: s?.cpuModel ?? null,
    cpuFlags: s?.cpuFlags ?? null,
    memoryBytes: s?.memoryBytes ?? null,
    diskFreeBytes: live?.diskFreeBytes ?? null,
    loadAverage: live?.loadAverage ?? null,
    address: member.address,
    liveAt: live === null ? null : iso(live.readAt),
    error,
  };
}

/** The flags every one of `sets` has, sorted; empty for no sets. */
export function commonFlags(sets: readonly (readonly string[])[]): string[] {
  const [first, ...rest] = sets;
  if (first === undefined) return [];
  const others = rest.map((s) => new Set(s));
  return [...new Set(first)].filter((flag) => others.every((s) => s.has(flag))).sort();
}

export class ResourcesGatherer {
  /** One static fetch per member at a time: concurrent requests share it. */
  private readonly inflight = new Map<string, Promise<StaticFetch>>();

  constructor(private readonly ports: GathererPorts) {}

  async gather(members: readonly ResourceMember[], refresh: boolean): Promise<ResourcesReport> {
    const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const pruned = this.ports.cache.retainOnly(new Set(sorted.map((m) => m.id))).catch((err: unknown) => this.ports.onCachePruneFailed?.(err));
    const rows = await Promise.all(sorted.map((m) => this.one(m, refresh)));
    await pruned;
    const reachable = rows.filter((r) => r.reachable && r.cpuFlags !== null).map((r) => r.cpuFlags ?? []);
    return { members: rows, commonCpuFlags: commonFlags(reachable), answeredBy: this.ports.self };
  }

  private async one(member: ResourceMember, refresh: boolean): Promise<MemberResourcesRow> {
    const { ports } = this;
    const read: CacheRead = await ports.cache.read(member.id).catch((err: unknown) => ({ kind: 'corrupt' as const, reason: message(err) }));
    const entry = read.kind === 'found' ? read.entry : null;
    const fresh = entry !== null && freshness(entry, member, ports.clock.wallClockMs(), ports.ttlMs).fresh;
    ports.onCacheLookup?.(refresh ? 'refresh' : read.kind === 'found' ? (fresh ? 'fresh' : 'expired') : read.kind);
    try {
      if (entry !== null && fresh && !refresh) {
        const live = (await this.ask(member, false)).live;
        return row(member, true, true, entry.fetchedAt, entry.static, live, null);
      }
      // Read by this call, or by a concurrent one whose fetch this call joined.
      const fetched = await this.fetchStatic(member);
      return row(member, true, false, fetched.entry.fetchedAt, fetched.entry.static, fetched.entry.live, null);
    } catch (err) {
      // The cache file holds live figures too (read with the static ones), but not from this call.
      return row(member, false, entry !== null, entry?.fetchedAt ?? null, entry?.static ?? null, null, message(err));
    }
  }

  private fetchStatic(member: ResourceMember): Promise<StaticFetch> {
    const running = this.inflight.get(member.id);
    if (running !== undefined) return running;
    const started = (async (): Promise<StaticFetch> => {
      const reading = await this.ask(member, true);
      if (reading.static === null) {
        throw new ResourcesError('INVALID_ANSWER', `${member.id} at ${member.address} answered without the static figures it was asked for`);
      }
      const entry: CacheEntry = {
        member: member.id,
        address: member.address,
        incarnation: member.incarnation,
        fetchedAt: this.ports.clock.wallClockMs(),
        static: reading.static,
        live: reading.live,
      };
      await this.ports.cache.write(entry).catch((err: unknown) => this.ports.onCacheWriteFailed?.(member.id, err));
      return { entry };
    })();
    this.inflight.set(member.id, started);
    const clear = (): void => {
      if (this.inflight.get(member.id) === started) this.inflight.delete(member.id);
    };
    started.then(clear, clear);
    return started;
  }

  /** One call, bounded by the deadline whatever the fetch port does. */
  private ask(member: ResourceMember, includeStatic: boolean): Promise<MachineReading> {
    const { ports } = this;
    if (member.id !== ports.self) ports.onRemoteCall?.(includeStatic ? 'static' : 'live');
    return new Promise<MachineReading>((resolve, reject) => {
      const timer = ports.clock.after(ports.deadlineMs, () =>
        reject(new ResourcesError('UNREACHABLE', `${member.id} at ${member.address} did not answer within ${ports.deadlineMs}ms`)),
      );
      ports.fetch(member, includeStatic, ports.deadlineMs).then(
        (reading) => {
          timer.cancel();
          resolve(reading);
        },
        (err: unknown) => {
          timer.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
