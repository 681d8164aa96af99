/**
 * A short in-memory log of committed transitions a kind wants audited: every node reads it after
 * applying and audits each transition once, in commit order. Derived, not part of a snapshot:
 * the seq is (so a reader knows what it missed), the items are not.
 */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class TransitionLog<T extends { readonly seq: number }> {
  private items: T[] = [];
  /** The seq before the first item kept. */
  private base = 0;
  private last = 0;

  constructor(private readonly capacity: number) {}

  get seq(): number {
    return this.last;
  }

  add(item: DistributiveOmit<T, 'seq'>): void {
    this.last++;
    this.items.push({ ...item, seq: this.last } as unknown as T);
    if (this.items.length > this.capacity) {
      const drop = this.items.length - this.capacity;
      this.items = this.items.slice(drop);
      this.base += drop;
    }
  }

  /** Items after `seq`; `missed` when some were dropped (or lost with a snapshot install). */
  since(seq: number): { readonly items: readonly T[]; readonly missed: boolean } {
    return { items: this.items.slice(Math.max(0, seq - this.base)), missed: seq < this.base };
  }

  /** After a restore: nothing kept, the seq as the snapshot says. */
  reset(seq: number): void {
    this.items = [];
    this.base = seq;
    this.last = seq;
  }
}
