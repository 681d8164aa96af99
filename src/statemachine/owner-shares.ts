/**
 * The dedup table's records grouped by owner (record-owner.ts), from cluster version
 * CLIENT_SHARE_VERSION: whom a full table evicts from, and whose records it ever evicted.
 *
 * A full table evicts the least recently applied record of the owner holding the most records;
 * among owners holding equally many, the one whose least recently applied record is the oldest.
 * So a flood under one certificate evicts others' records only until it holds the most, and then
 * its own: it can never take more than its share. An owner keeps "has lost records" for good
 * (thesis §6.3: a retry of a dropped record must not be applied again), and only an owner that has
 * may have its unknown-id retries refused SESSION_EXPIRED.
 *
 * `null` owns the records written before owners (an older snapshot, or entries proposed below the
 * level): the "legacy" group. A full table evicts those first, whoever holds the most: whose they
 * are is unknown, so while any remain after one of them was evicted, an unknown-id retry of every
 * owner is judged as before (dedup.ts); by the other rule they could stay for good (one owner
 * holding as many as they do then evicts its own).
 *
 * From cluster version OWNED_CLIENT_ID_VERSION the owners that lost records are named up to
 * `maxLost` of them (the table's own bound): past it the first named is forgotten and the table says so (`forgotten`), and from then on an owner
 * it does not name is judged as every owner was before owners (dedup.ts: refused when full). Before
 * (attack round 13) the set only grew: 200,000 puts under fresh owners (a member's forwards may
 * claim any; a CA may issue as many names) left 190,000 names in every replica and a 24.7 MB
 * snapshot, outside the state quota.
 *
 * All of it is a function of the applied entries: no time, no randomness.
 */
import { BinaryHeap } from '../util/binary-heap.js';

export type OwnerKey = string | null;

/** An owner's standing when it last changed: how many records, and its oldest's index. */
interface Standing {
  readonly owner: string;
  readonly size: number;
  readonly oldest: number;
}

/** Most records first; among equals the older oldest record (indexes are unique: a total order). */
const aheadOf = (a: Standing, b: Standing): boolean => a.size > b.size || (a.size === b.size && a.oldest < b.oldest);

/** An owner's JSON length in the list of those that lost records, with its comma. */
function loserChars(owner: OwnerKey): number {
  return (owner === null ? 4 : JSON.stringify(owner).length) + 1;
}

/** Stale standings kept before the heap is rebuilt from the groups, beyond one per owner. */
const STALE_SLACK = 64;

export class OwnerShares {
  /** Per owner, its records' ids in last-applied order, with the index each was applied at. */
  private readonly groups = new Map<OwnerKey, Map<string, number>>();
  /** Owners the table has evicted a record of (or another owner took one of, dedup.ts), in the order they first lost one. */
  private readonly losers = new Set<OwnerKey>();
  /** The JSON length of `losers` as an array, less its brackets, with a comma each: kept as it changes. */
  private losersChars = 0;
  /** Whether owners that lost records were forgotten to keep `losers` within maxLost. */
  private forgot = false;
  /** Whether `losers` is held within maxLost (from OWNED_CLIENT_ID_VERSION: older members keep every name). */
  private bounded = false;
  /**
   * Every owner's standing as of its latest change, and older ones, skipped once found stale: the
   * first current one is the owner to evict from, in O(log owners). Derived from `groups` alone,
   * so a restored table picks as a live one does.
   */
  private readonly standings = new BinaryHeap<Standing>(aheadOf);

  /** `maxLost`: how many owners that lost records are named (the legacy group aside). */
  constructor(private readonly maxLost: number) {}

  /** Whether some owner that lost records is no longer named: an owner not named may have lost some. */
  get forgotten(): boolean {
    return this.forgot;
  }

  /** How many records `owner` holds. */
  count(owner: OwnerKey): number {
    return this.groups.get(owner)?.size ?? 0;
  }

  /** Whether the table ever evicted a record of `owner`. */
  hasLost(owner: OwnerKey): boolean {
    return this.losers.has(owner);
  }

  /** Record `id` of `owner` as the most recently applied; `index` must increase call to call. */
  add(owner: OwnerKey, id: string, index: number): void {
    let group = this.groups.get(owner);
    if (group === undefined) {
      group = new Map();
      this.groups.set(owner, group);
    }
    group.delete(id);
    group.set(id, index);
    this.stand(owner);
  }

  remove(owner: OwnerKey, id: string): void {
    const group = this.groups.get(owner);
    if (group === undefined) return;
    group.delete(id);
    // An owner without records takes no room; whether it lost any is kept in `losers`.
    if (group.size === 0) this.groups.delete(owner);
    else this.stand(owner);
  }

  /** Record `owner`'s standing now; the legacy group is not ranked (it always goes first). */
  private stand(owner: OwnerKey): void {
    if (owner === null) return;
    const standing = this.standingOf(owner);
    if (standing !== null) this.standings.push(standing);
    if (this.standings.size > 2 * this.groups.size + STALE_SLACK) {
      this.standings.reset([...this.groups.keys()].flatMap((o) => (o === null ? [] : [this.standingOf(o)].filter((x): x is Standing => x !== null))));
    }
  }

  private standingOf(owner: string): Standing | null {
    const group = this.groups.get(owner);
    const oldest = group?.values().next();
    return group === undefined || oldest === undefined || oldest.done === true ? null : { owner, size: group.size, oldest: oldest.value };
  }

  markLost(owner: OwnerKey): void {
    if (this.losers.has(owner)) return;
    this.losers.add(owner);
    this.losersChars += loserChars(owner);
    if (this.bounded) this.forgetPastBound();
  }

  /**
   * From OWNED_CLIENT_ID_VERSION on (every member forgets alike): hold the names within maxLost
   * from now on, forgetting at once the first named past it (a table raised from the level below
   * may name more). Called before every request at the level; never undone.
   */
  bound(): void {
    if (this.bounded) return;
    this.bounded = true;
    this.forgetPastBound();
  }

  /** The first named go (the legacy group is one flag of its own, never forgotten) until maxLost remain. */
  private forgetPastBound(): void {
    for (const first of this.losers) {
      if (this.losers.size - (this.losers.has(null) ? 1 : 0) <= this.maxLost) return;
      if (first === null) continue;
      this.losers.delete(first);
      this.losersChars -= loserChars(first);
      this.forgot = true;
    }
  }

  /** Restored from a snapshot that says owners were forgotten (so it was bounded). */
  markForgotten(): void {
    this.forgot = true;
    this.bounded = true;
  }

  /**
   * The record to evict: the least recently applied from before owners while any remain, then
   * the least recently applied of the owner holding the most; null when there is none.
   */
  victim(): { readonly owner: OwnerKey; readonly id: string } | null {
    const legacy = this.groups.get(null)?.keys().next();
    if (legacy !== undefined && legacy.done !== true) return { owner: null, id: legacy.value };
    for (let top = this.standings.peek(); top !== undefined; top = this.standings.peek()) {
      const now = this.standingOf(top.owner);
      if (now !== null && now.size === top.size && now.oldest === top.oldest) {
        const id = this.groups.get(top.owner)!.keys().next();
        if (id.done !== true) return { owner: top.owner, id: id.value };
      }
      this.standings.pop();
    }
    return null;
  }

  /**
   * An upper bound of JSON.stringify(lost()).length, without making it: the quota asks before
   * every write, and 10,000 owners named cost 0.7 ms a time to copy and serialize.
   */
  get lostJsonLength(): number {
    return 2 + this.losersChars;
  }

  /** The owners that lost records, in the order they first did (the snapshot's `dropped`). */
  lost(): readonly OwnerKey[] {
    return [...this.losers];
  }
}
