/**
 * The stable log as the core sees it (etcd's Storage). The core only reads it; the driver
 * writes to it the Readys it persists.
 *
 * MemoryStorage is the one implementation: the driver loads it from its RaftStorage at start
 * and mirrors every write into it as it issues the write (the core reads entries from it only
 * after advance(), by which time the driver has waited for whatever had to be durable). Log
 * entries after the latest snapshot stay in memory, which `raft.snapshot_threshold` and
 * `raft.snapshot_threshold_bytes` bound; it counts their bytes so that the driver can tell.
 */
import { RaftError } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_HARD_STATE } from './types.js';

export interface LogStorage {
  initialState(): { hardState: HardState; conf: ConfState };
  /** Entries in [lo, hi), at most maxBytes of data (always at least one). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i; for i == firstIndex()-1, the snapshot's term. Throws COMPACTED/UNAVAILABLE. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export function emptySnapshot(conf: ConfState): Snapshot {
  return { meta: { index: 0, term: 0, conf }, data: new Uint8Array(0) };
}

export class MemoryStorage implements LogStorage {
  private hard: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  /** ents[0] is a dummy standing for the snapshot's last entry (index snap.meta.index). */
  private ents: Entry[];
  /** Bytes of data of the entries after the dummy. */
  private held = 0;

  constructor(conf: ConfState) {
    this.snap = emptySnapshot(conf);
    this.ents = [{ term: 0, index: 0, kind: 'noop', data: new Uint8Array(0) }];
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.hard, conf: this.snap.meta.conf };
  }

  setHardState(hs: HardState): void {
    this.hard = hs;
  }

  hardState(): HardState {
    return this.hard;
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  /** Bytes of entry data held in memory (the entries after the snapshot, and those it kept). */
  heldBytes(): number {
    return this.held;
  }

  term(i: number): number {
    const off = this.offset();
    if (i < off) throw new RaftError('COMPACTED', `entry ${i} is compacted (first index ${off + 1})`);
    if (i - off >= this.ents.length) {
      throw new RaftError('UNAVAILABLE', `entry ${i} is beyond the last index ${this.lastIndex()}`);
    }
    return this.ents[i - off]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new RaftError('COMPACTED', `entry ${lo} is compacted (first index ${off + 1})`);
    if (hi > this.lastIndex() + 1) {
      throw new RaftError('UNAVAILABLE', `entries up to ${hi - 1} requested, last index ${this.lastIndex()}`);
    }
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - off]!;
      size += e.data.length + 24;
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole state with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) {
      throw new RaftError('SNAPSHOT_OUT_OF_DATE', `snapshot at ${snap.meta.index} is not newer than ${this.snap.meta.index}`);
    }
    this.snap = snap;
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, kind: 'noop', data: new Uint8Array(0) }];
    this.held = 0;
  }

  /**
   * Records a snapshot the local state machine took at `index` and keeps the entries up to it
   * that slightly-behind followers may still be caught up from: at most `trailing` entries and
   * `trailingBytes` of data (large entries, such as agents' reports, would otherwise keep
   * `trailing` times their size in memory). Entries after `index` all stay.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array, trailing: number, trailingBytes: number): Snapshot {
    if (index <= this.snap.meta.index) {
      throw new RaftError('SNAPSHOT_OUT_OF_DATE', `snapshot at ${index} is not newer than ${this.snap.meta.index}`);
    }
    const snap: Snapshot = { meta: { index, term: this.term(index), conf }, data };
    this.snap = snap;
    const off = this.offset();
    let keepFrom = Math.max(off, index - trailing);
    let bytes = 0;
    for (let i = index; i > keepFrom; i--) {
      bytes += this.ents[i - off]!.data.length;
      if (bytes > trailingBytes) {
        keepFrom = i;
        break;
      }
    }
    this.compact(keepFrom);
    return snap;
  }

  /** Drops entries before `index`; entry `index` becomes the dummy. */
  compact(index: number): void {
    const off = this.offset();
    if (index <= off) return;
    if (index > this.lastIndex()) throw new RaftError('UNAVAILABLE', `compact ${index} beyond last ${this.lastIndex()}`);
    const dummy = this.ents[index - off]!;
    for (let i = 1; i <= index - off; i++) this.held -= this.ents[i]!.data.length;
    this.ents = [{ term: dummy.term, index: dummy.index, kind: 'noop', data: new Uint8Array(0) }, ...this.ents.slice(index - off + 1)];
  }

  /** Appends entries, truncating any conflicting suffix first (entries[0].index may be <= lastIndex). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all already compacted
    const ents = entries[0]!.index < first ? entries.slice(first - entries[0]!.index) : entries;
    const off = this.offset();
    const at = ents[0]!.index - off;
    if (at > this.ents.length) {
      throw new RaftError('UNAVAILABLE', `append at ${ents[0]!.index} leaves a gap after ${this.lastIndex()}`);
    }
    for (let i = at; i < this.ents.length; i++) this.held -= this.ents[i]!.data.length;
    this.ents.length = at;
    for (const e of ents) {
      this.ents.push(e);
      this.held += e.data.length;
    }
  }
}
