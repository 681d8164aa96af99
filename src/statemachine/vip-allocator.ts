/**
 * Virtual IPs of services, allocated inside the replicated state machine's apply: every replica
 * applies the same entries in the same order and computes the same address, so a new leader can
 * never hand out one that is in use (Kuma kept its allocator in the leader's memory, rebuilt at
 * start from what it found, and handed out new VIPs for unchanged services on a resync).
 *
 * Rules (each a test in test/statemachine/vip-allocator.test.ts):
 * - addresses come from the range in force (`services.vip_cidr`), without its network and
 *   broadcast addresses (a /31 or /32 uses every address);
 * - a monotonic cursor: the next address is the first free one after the last handed out,
 *   wrapping around at the end of the range; so an address freed now is handed out again only
 *   after the whole rest of the range;
 * - a released address is quarantined for `services.vip_quarantine` of log time from its
 *   release: it is not free until then;
 * - a change of range starts a fresh cursor at the new range's first address; addresses in use
 *   (in any range) and quarantined are skipped, and a service keeps its address for its life;
 * - when every address of the range is in use or quarantined, there is none: the caller refuses
 *   what needed one ("range exhausted").
 *
 * Time is log time (the proposing leader's clock carried in the command, never the applying
 * node's; see MeshStore.clock), so the quarantine ends at the same entry on every replica.
 */
import { formatIpv4, parseIpv4, usableSpan, type Ipv4Cidr } from '../settings/ipv4-cidr.js';

export { usableSpan };

export interface VipRange {
  /** The range as the setting holds it (canonical text): the identity of a cursor. */
  readonly text: string;
  readonly cidr: Ipv4Cidr;
}

export interface AllocatorSnapshot {
  /** The range the cursor belongs to; null before the first allocation. */
  readonly range: string | null;
  /** The next address to try, dotted; null before the first allocation. */
  readonly cursor: string | null;
  /**
   * Quarantined addresses and the log time (ms) of their release, in release order; a third
   * element names the agent charged for it (PUBLISH_SHARE_VERSION: the creator of the service that
   * held it; LISTER_SHARE_VERSION: its last lister, publisher-shares.ts).
   */
  readonly quarantine: readonly QuarantineEntry[];
}

export type QuarantineEntry = readonly [vip: string, releasedAt: number] | readonly [vip: string, releasedAt: number, owner: string];

/** A quarantined address: when it was released, and the agent charged for it (null: none). */
interface Quarantined {
  readonly releasedAt: number;
  readonly owner: string | null;
}

export class VipAllocator {
  /** Address -> the service holding it. Derived from the services' status; not snapshotted here. */
  private readonly inUse = new Map<number, string>();
  /** Address -> its release. Insertion order is release order (log time never goes back). */
  private readonly quarantine = new Map<number, Quarantined>();
  /** Agent -> how many quarantined addresses are charged to it (publisher-shares.ts). */
  private readonly ownedQuarantine = new Map<string, number>();
  /** The owners' share of the snapshot's quarantine: ,"agent" per owned entry. */
  private ownerChars = 0;
  private cursorRange: string | null = null;
  private cursor = 0;
  /** Addresses of `countedRange` in use or quarantined; recomputed when the range changes. */
  private countedRange: string | null = null;
  private counted: { readonly first: number; readonly last: number } | null = null;
  private occupied = 0;

  /** The service holding `vip`, or null. */
  holder(vip: string): string | null {
    const a = parseIpv4(vip);
    return a === null ? null : (this.inUse.get(a) ?? null);
  }

  get quarantined(): number {
    return this.quarantine.size;
  }

  /** Record an address a service holds (on restore, and on allocation). */
  claim(vip: string, service: string): void {
    const a = parseIpv4(vip);
    if (a === null) throw new Error(`not an IPv4 address: ${JSON.stringify(vip)}`);
    this.inUse.set(a, service);
    if (this.inCounted(a) && !this.quarantine.has(a)) this.occupied++;
  }

  /**
   * The service holding `vip` is gone: the address is quarantined from log time `now`, charged to
   * `owner` (the agent charged for the service: publisher-shares.ts) until its quarantine ends.
   */
  release(vip: string, now: number, owner: string | null = null): void {
    const a = parseIpv4(vip);
    if (a === null || !this.inUse.delete(a)) return;
    // In the counted range the address stays occupied: in use before, quarantined now.
    this.quarantine.set(a, { releasedAt: now, owner });
    if (owner !== null) this.charge(owner);
  }

  /** Frees the addresses whose quarantine has ended at log time `now`. */
  purge(now: number, quarantineMs: number): void {
    for (const [a, q] of this.quarantine) {
      if (q.releasedAt + quarantineMs > now) break;
      this.quarantine.delete(a);
      if (q.owner !== null) this.uncharge(q.owner);
      if (this.inCounted(a) && !this.inUse.has(a)) this.occupied--;
    }
  }

  /** Quarantined addresses charged to `agent` (call purge first). */
  quarantinedBy(agent: string): number {
    return this.ownedQuarantine.get(agent) ?? 0;
  }

  /** Quarantined addresses charged to `agent` at log time `now`, leaving out quarantines that end by then; changes nothing. */
  quarantinedByAt(agent: string, now: number, quarantineMs: number): number {
    let n = this.quarantinedBy(agent);
    for (const q of this.quarantine.values()) {
      if (q.releasedAt + quarantineMs > now) break;
      if (q.owner === agent) n--;
    }
    return n;
  }

  /** What the owners add to the snapshot's quarantine entries (beyond QUARANTINE_ENTRY_LENGTH each). */
  get ownersLength(): number {
    return this.ownerChars;
  }

  private charge(owner: string): void {
    this.ownedQuarantine.set(owner, (this.ownedQuarantine.get(owner) ?? 0) + 1);
    this.ownerChars += JSON.stringify(owner).length + 1;
  }

  private uncharge(owner: string): void {
    this.ownerChars -= JSON.stringify(owner).length + 1;
    const left = (this.ownedQuarantine.get(owner) ?? 0) - 1;
    if (left > 0) this.ownedQuarantine.set(owner, left);
    else this.ownedQuarantine.delete(owner);
  }

  /** How many addresses of `range` are free (call purge first). */
  free(range: VipRange): number {
    this.count(range);
    return usableSpan(range.cidr).count - this.occupied;
  }

  /** Free addresses of `range` at log time `now`, counting quarantines that end by then; changes nothing. */
  freeAt(range: VipRange, now: number, quarantineMs: number): number {
    let n = this.free(range);
    for (const [a, q] of this.quarantine) {
      if (q.releasedAt + quarantineMs > now) break;
      if (this.inCounted(a) && !this.inUse.has(a)) n++;
    }
    return n;
  }

  /** The next free address of `range` after the cursor, claimed for `service`; null: the range is exhausted. */
  allocate(range: VipRange, service: string): string | null {
    if (this.free(range) <= 0) return null;
    const span = usableSpan(range.cidr);
    if (this.cursorRange !== range.text || this.cursor < span.first || this.cursor > span.last) {
      this.cursorRange = range.text;
      this.cursor = span.first;
    }
    // A free address exists, and each step passes an occupied one: at most occupied + 1 steps.
    let a = this.cursor;
    while (this.inUse.has(a) || this.quarantine.has(a)) a = a === span.last ? span.first : a + 1;
    this.cursor = a === span.last ? span.first : a + 1;
    const vip = formatIpv4(a);
    this.claim(vip, service);
    return vip;
  }

  snapshot(): AllocatorSnapshot {
    return {
      range: this.cursorRange,
      cursor: this.cursorRange === null ? null : formatIpv4(this.cursor),
      // The owner only when there is one: a snapshot below PUBLISH_SHARE_VERSION has none, and reads as 0.7 members read it.
      quarantine: [...this.quarantine].map(([a, q]): QuarantineEntry => (q.owner === null ? [formatIpv4(a), q.releasedAt] : [formatIpv4(a), q.releasedAt, q.owner])),
    };
  }

  /** Load a snapshot's allocator (services claim their addresses separately). Throws on bad data. */
  restore(s: AllocatorSnapshot): void {
    this.cursorRange = s.range;
    this.cursor = 0;
    if (s.cursor !== null) {
      const c = parseIpv4(s.cursor);
      if (c === null) throw new Error(`cursor: not an IPv4 address: ${JSON.stringify(s.cursor)}`);
      this.cursor = c;
    }
    let last = Number.NEGATIVE_INFINITY;
    for (const [vip, t, owner] of s.quarantine) {
      const a = parseIpv4(vip);
      if (a === null) throw new Error(`quarantine: not an IPv4 address: ${JSON.stringify(vip)}`);
      if (t < last) throw new Error(`quarantine: release times must not decrease, found ${t} after ${last}`);
      if (this.quarantine.has(a)) throw new Error(`quarantine: ${vip} is listed twice`);
      last = t;
      this.quarantine.set(a, { releasedAt: t, owner: owner ?? null });
      if (owner !== undefined) this.charge(owner);
    }
    this.countedRange = null;
  }

  private inCounted(a: number): boolean {
    return this.counted !== null && a >= this.counted.first && a <= this.counted.last;
  }

  /** Counts the occupied addresses of `range` when it is not the one counted (a range change: O(services)). */
  private count(range: VipRange): void {
    if (this.countedRange === range.text) return;
    this.countedRange = range.text;
    this.counted = usableSpan(range.cidr);
    let n = 0;
    for (const a of this.inUse.keys()) if (this.inCounted(a)) n++;
    for (const a of this.quarantine.keys()) if (this.inCounted(a) && !this.inUse.has(a)) n++;
    this.occupied = n;
  }
}
