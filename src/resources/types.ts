/**
 * A member's machine resources, as `ctl resources` shows them. What does not change while the
 * machine runs (CPUs, CPU model and flags, memory size) is cached per member with an expiry;
 * what does (disk free, load) is read live by each call, and shown only then.
 */

/** The figures that do not change while a machine runs: cached (controller.resources_cache_ttl). */
export interface StaticResources {
  readonly cpus: number;
  readonly cpuModel: string;
  /** Sorted, without duplicates. */
  readonly cpuFlags: readonly string[];
  readonly memoryBytes: number;
}

/** The figures read each time, with the instant they were read. */
export interface LiveResources {
  /** Free bytes on the file system of the member's data dir, for unprivileged use. */
  readonly diskFreeBytes: number;
  /** 1, 5 and 15 minute load averages. */
  readonly loadAverage: readonly [number, number, number];
  /** ms since the epoch, on the member's clock. */
  readonly readAt: number;
}

/** What a member answers: the live figures, and the static ones when asked for. */
export interface MachineReading {
  readonly static: StaticResources | null;
  readonly live: LiveResources;
}

export interface ResourceMember {
  readonly id: string;
  /** Members are reached by address, not by name. */
  readonly address: string;
  /**
   * The member's incarnation (its data dir) as the replicated members table records it; '' while
   * the cluster has not heard from it. A rebuilt member (remove, add, --join) has a new one.
   */
  readonly incarnation: string;
}

/** One row of `ctl resources -o json`, in the contract's field order (then additions). */
export interface MemberResourcesRow {
  readonly id: string;
  readonly reachable: boolean;
  /** The static figures came from the cache: no remote call was made for them. */
  readonly cached: boolean;
  /** ISO time the static figures were fetched; null when there are none. */
  readonly fetchedAt: string | null;
  readonly cpus: number | null;
  readonly cpuModel: string | null;
  readonly cpuFlags: readonly string[] | null;
  readonly memoryBytes: number | null;
  readonly diskFreeBytes: number | null;
  readonly loadAverage: readonly number[] | null;
  readonly address: string;
  /** ISO time disk free and load were read; null, as they are, when this call did not read them. */
  readonly liveAt: string | null;
  /** Why the member could not be asked, or answered wrongly; null when it answered. */
  readonly error: string | null;
}

/** The answer to `ctl resources`. */
export interface ResourcesReport {
  /** Every member, the answering one included, in id order. */
  readonly members: readonly MemberResourcesRow[];
  /** The CPU flags every reachable member has, sorted. */
  readonly commonCpuFlags: readonly string[];
  readonly answeredBy: string;
}
