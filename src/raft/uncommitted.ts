/**
 * The bytes of entries a leader appended in its term and has not yet seen committed (etcd's
 * uncommittedSize). Past `maxBytes`, a proposal is refused instead of appended: without a bound,
 * a burst of large writes from one client put hundreds of MB on the leader at once, to be sent
 * to every follower on the connections that also carry heartbeats, and the leader lost its term.
 * A proposal is always admitted when nothing is uncommitted, so an entry larger than the bound
 * still goes through, alone.
 */
export class UncommittedBytes {
  /** (index, bytes) of the entries appended in this term, oldest first, from `head` on. */
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private sum = 0;

  /** `maxBytes` 0: no bound. */
  constructor(readonly maxBytes: number) {}

  get total(): number {
    return this.sum;
  }

  /** Whether a proposal of `bytes` may be appended now. */
  admits(bytes: number): boolean {
    return this.maxBytes <= 0 || bytes === 0 || this.sum === 0 || this.sum + bytes <= this.maxBytes;
  }

  add(index: number, bytes: number): void {
    if (bytes === 0) return;
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.sum += bytes;
  }

  /** The entries up to `committed` are committed: their bytes no longer count. */
  releaseTo(committed: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head]! <= committed) {
      this.sum -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head === this.indexes.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.indexes.length) {
      this.indexes.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  /** A new term (or role): entries of an earlier term are not this leader's to count. */
  clear(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.sum = 0;
  }
}
