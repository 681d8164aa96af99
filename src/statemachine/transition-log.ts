/**
 * A short in-memory log of committed transitions a kind wants audited: every node reads it after
 * applying and audits each transition once, in commit order. Derived, not part of a snapshot:
 * the seq is (so a reader knows what it missed), the items are not.
 *
 * Memory (docs/benchmarks.md, "Agents"): never `{ ...item, seq }`, to which V8 gives a hidden
 * class of its own per object (about 380 bytes an item). add() builds `Object.assign({ seq },
 * item)` (about 130); addMade() takes a literal with every field (about 80). Items leave from
 * the front in chunks, so a full log does not copy itself on every add.
 */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class TransitionLog<T extends { readonly seq: number }> {
  /** items[head..] are kept; items before head are dropped and wait for the next compaction. */
  private items: T[] = [];
  private head = 0;
  /** The seq before the first item kept. */
  private base = 0;
  private last = 0;

  constructor(private readonly capacity: number) {}

  get seq(): number {
    return this.last;
  }

  add(item: DistributiveOmit<T, 'seq'>): void {
    this.addMade((seq) => Object.assign({ seq }, item) as unknown as T);
  }

  /** Adds the item `make` builds with its seq: a literal with every field is the smallest item. */
  addMade(make: (seq: number) => T): void {
    this.last++;
    this.items.push(make(this.last));
    if (this.items.length - this.head > this.capacity) {
      this.head++;
      this.base++;
      // One copy per `capacity` adds, not one per add.
      if (this.head >= this.capacity) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** Items after `seq`; `missed` when some were dropped (or lost with a snapshot install). */
  since(seq: number): { readonly items: readonly T[]; readonly missed: boolean } {
    return { items: this.items.slice(this.head + Math.max(0, seq - this.base)), missed: seq < this.base };
  }

  /** After a restore: nothing kept, the seq as the snapshot says. */
  reset(seq: number): void {
    this.items = [];
    this.head = 0;
    this.base = seq;
    this.last = seq;
  }
}
