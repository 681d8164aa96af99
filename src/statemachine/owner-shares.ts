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
 * are is unknown, so while any remain an unknown-id retry of every owner is judged as before
 * (dedup.ts), and by the other rule they could stay for good (one owner holding as many as they do
 * then evicts its own).
 *
 * All of it is a function of the applied entries: no time, no randomness.
 */
export type OwnerKey = string | null;

export class OwnerShares {
  /** Per owner, its records' ids in last-applied order, with the index each was applied at. */
  private readonly groups = new Map<OwnerKey, Map<string, number>>();
  /** Owners the table has evicted a record of, in the order they first lost one. */
  private readonly losers = new Set<OwnerKey>();

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
  }

  remove(owner: OwnerKey, id: string): void {
    const group = this.groups.get(owner);
    if (group === undefined) return;
    group.delete(id);
    // An owner without records takes no room; whether it lost any is kept in `losers`.
    if (group.size === 0) this.groups.delete(owner);
  }

  markLost(owner: OwnerKey): void {
    this.losers.add(owner);
  }

  /**
   * The record to evict: the least recently applied from before owners while any remain, then
   * the least recently applied of the owner holding the most; null when there is none. O(owners): called only when the table is over its size.
   */
  victim(): { readonly owner: OwnerKey; readonly id: string } | null {
    const legacy = this.groups.get(null)?.keys().next();
    if (legacy !== undefined && legacy.done !== true) return { owner: null, id: legacy.value };
    let best: { owner: OwnerKey; id: string; size: number; index: number } | null = null;
    for (const [owner, group] of this.groups) {
      const oldest = group.entries().next();
      if (oldest.done === true) continue;
      const [id, index] = oldest.value;
      if (best === null || group.size > best.size || (group.size === best.size && index < best.index)) best = { owner, id, size: group.size, index };
    }
    return best === null ? null : { owner: best.owner, id: best.id };
  }

  /** The owners that lost records, in the order they first did (the snapshot's `dropped`). */
  lost(): readonly OwnerKey[] {
    return [...this.losers];
  }
}
