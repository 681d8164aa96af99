/**
 * The key-value store's keys in order, kept in order as keys come and go: a list of sorted
 * chunks of at most 2 x CHUNK keys, each found by its last key (Python's sortedcontainers
 * layout). Adding or removing a key costs a binary search and a splice within one chunk (and,
 * rarely, a splice of the chunk list), listing from a key costs a binary search: no step sorts
 * or copies every key.
 *
 * The store sorted all its keys again at its first listing after any key was created or deleted
 * (attack round 14): a client putting a fresh key before each `Range` of one key had the whole
 * key set sorted each time, synchronously, on every controller it asked: 1,000,000 keys took
 * 2.5 s of one event loop per Range, heartbeats and all.
 *
 * Strings compare by UTF-16 code units (JavaScript's `<`, what Array.prototype.sort does).
 */
const CHUNK = 512;

/** First index in the sorted `keys` whose key is >= `key` (or > `key` when `strict`). */
export function bound(keys: readonly string[], key: string, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    if (k < key || (strict && k === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedKeys {
  private chunks: string[][] = [];
  /** The last key of each chunk: chunks[i] holds the keys after maxes[i - 1] up to maxes[i]. */
  private maxes: string[] = [];
  private count = 0;

  /** From keys already strictly increasing (a snapshot's). */
  static fromSorted(keys: readonly string[]): SortedKeys {
    const s = new SortedKeys();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      s.chunks.push(chunk);
      s.maxes.push(chunk[chunk.length - 1]!);
    }
    s.count = keys.length;
    return s;
  }

  get size(): number {
    return this.count;
  }

  /** Adds `key`, which must not be here. */
  add(key: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.maxes.push(key);
      this.count = 1;
      return;
    }
    // The first chunk whose last key is past `key`; a key past every one goes to the last chunk.
    const c = Math.min(bound(this.maxes, key, false), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const at = bound(chunk, key, false);
    if (chunk[at] === key) throw new Error(`invariant: key ${JSON.stringify(key.slice(0, 64))} is already in the sorted keys`);
    chunk.splice(at, 0, key);
    this.maxes[c] = chunk[chunk.length - 1]!;
    this.count += 1;
    if (chunk.length > 2 * CHUNK) {
      const upper = chunk.splice(CHUNK);
      this.chunks.splice(c + 1, 0, upper);
      this.maxes.splice(c, 1, chunk[chunk.length - 1]!, upper[upper.length - 1]!);
    }
  }

  /** Removes `key`, which must be here. */
  delete(key: string): void {
    const c = bound(this.maxes, key, false);
    const chunk = this.chunks[c];
    const at = chunk === undefined ? -1 : bound(chunk, key, false);
    if (chunk === undefined || chunk[at] !== key) throw new Error(`invariant: key ${JSON.stringify(key.slice(0, 64))} is not in the sorted keys`);
    chunk.splice(at, 1);
    this.count -= 1;
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    } else this.maxes[c] = chunk[chunk.length - 1]!;
  }

  /** The keys >= `from` (> `from` when `strict`), in order. */
  *from(from: string, strict: boolean): Generator<string, void, undefined> {
    let c = bound(this.maxes, from, strict);
    if (c >= this.chunks.length) return;
    let at = bound(this.chunks[c]!, from, strict);
    for (; c < this.chunks.length; c++, at = 0) {
      const chunk = this.chunks[c]!;
      for (; at < chunk.length; at++) yield chunk[at]!;
    }
  }

  /** Every key, in order. */
  toArray(): string[] {
    return this.chunks.flat();
  }
}
