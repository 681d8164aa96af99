/**
 * The log as the protocol sees it: durable entries in storage followed by unstable ones,
 * plus the commit and apply cursors (etcd's log.go).
 *
 * Invariant: applied <= committed <= lastIndex().
 */
import { RaftError } from './errors.js';
import type { LogStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

/** An entry's size as appends count it against their byte limits (as MemoryStorage.entries). */
export function entryBytes(e: Entry): number {
  return e.data.length + 24;
}

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(
    readonly storage: LogStorage,
    private readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything before the first index was compacted into a snapshot, so it is applied.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of entry i, or null when it is compacted or beyond the end. */
  term(i: number): number | null {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return null;
    const t = this.unstable.maybeTerm(i);
    if (t !== null) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof RaftError && (e.code === 'COMPACTED' || e.code === 'UNAVAILABLE')) return null;
      throw e;
    }
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Leader-side append of new entries at the end. Returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    if (ents[0]!.index - 1 < this.committed) {
      throw new Error(`invariant: append at ${ents[0]!.index} would overwrite committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Follower-side append (§5.3): if our log matches (prevIndex, prevTerm), append what is new,
   * truncating a conflicting suffix, and advance commit. Returns the last new index, or null
   * when the logs do not match at prevIndex.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) {
      this.checkCommitted(prevIndex, prevTerm);
      return null;
    }
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      this.checkCommitted(conflict, ents[conflict - (prevIndex + 1)]!.term);
      this.append(ents.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /**
   * Throws DIVERGED when the leader's entry at `index` (of `term`) differs from one this node
   * committed. Raft never changes a committed entry, so the leader's log is then not the one
   * this node saw committed: a quorum lost entries it had acknowledged (a data dir restored from
   * an older copy, or lost, while this node was away). etcd panics here; the driver stops.
   * Entries compacted into the snapshot cannot be compared and pass.
   */
  checkCommitted(index: number, term: number): void {
    if (index > this.committed) return;
    const ours = this.term(index);
    if (ours === null || ours === term) return;
    throw new RaftError(
      'DIVERGED',
      `the leader's entry ${index} is of term ${term}, but this node committed entry ${index} of term ${ours} ` +
        `(its log is committed up to ${this.committed}): the leader's log lacks entries this node saw committed`,
    );
  }

  /** The index of the first entry whose term differs from ours (or is new), else 0. */
  private findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-tracking: the largest index <= index whose term is <= term. The leader can skip
   * a whole term of mismatching entries per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === null) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    if (c > this.lastIndex()) throw new Error(`invariant: commit ${c} beyond last index ${this.lastIndex()}`);
    this.committed = c;
  }

  /** Commits up to maxIndex only if that entry is from the current term (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.committed = maxIndex;
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new Error(`invariant: applied ${i} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
  }

  /** Entries in [lo, hi), at most maxBytes (at least one). Null when lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | null {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return null;
    const out: Entry[] = [];
    const uOff = this.unstable.offset;
    if (lo < uOff) {
      try {
        out.push(...this.storage.entries(lo, Math.min(hi, uOff), maxBytes));
      } catch (e) {
        if (e instanceof RaftError && e.code === 'COMPACTED') return null;
        throw e;
      }
      if (out.length < Math.min(hi, uOff) - lo) return out; // hit the size limit
    }
    if (hi > uOff) {
      let size = out.reduce((s, e) => s + entryBytes(e), 0);
      for (const e of this.unstable.slice(Math.max(lo, uOff), hi)) {
        size += entryBytes(e);
        if (out.length > 0 && size > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  hasNextCommittedEnts(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  nextCommittedEnts(): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.slice(lo, this.committed + 1, this.maxApplyBytes) ?? [];
  }

  snapshot(): Snapshot | null {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Installs a snapshot from the leader: the whole log is replaced by it. */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
