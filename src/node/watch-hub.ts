/**
 * The source of `ctl watch`: every change to a key, as this node applies it, kept in a bounded
 * history so a watch may start from a past revision, and handed to the watchers whose filter
 * matches. Fed by the state machine's apply path (observed-state-machine.ts). No timers and no
 * I/O: what it knows comes in through recordChange and reset.
 *
 * A change is kept as the entry's bytes and decoded only when someone asks for it, so a node
 * nobody watches pays for a reference in a ring, not for a second JSON parse of every write.
 */
import type { KvChange, WatchFilter, WatchSource, WatchStart, WatchSubscriber } from '../api/watch-source.js';
import { matches } from '../api/watch-source.js';
import { decodeCommand } from '../statemachine/index.js';

export interface WatchHubOptions {
  /** Changes kept for watches that start in the past. */
  readonly maxEvents: number;
  /** Bytes of entries kept for them. */
  readonly maxBytes: number;
}

export const DEFAULT_WATCH_HISTORY: WatchHubOptions = { maxEvents: 10_000, maxBytes: 16 * 1024 * 1024 };

interface Recorded {
  readonly revision: number;
  readonly data: Uint8Array;
  /** Decoded on first use; null: not a change to a key (members, settings, ...). */
  decoded?: KvChange | null;
}

interface Watcher {
  readonly filter: WatchFilter;
  readonly subscriber: WatchSubscriber;
  /** The first revision it wants. */
  readonly from: number;
}

const encoder = new TextEncoder();

/** The key change an entry's command made at `revision`, or null when it did not touch a key. */
export function kvChangeOf(data: Uint8Array, revision: number): KvChange | null {
  let decoded;
  try {
    decoded = decodeCommand(data);
  } catch {
    return null;
  }
  const command = decoded.command as { kind: string; op?: unknown; key?: unknown; value?: unknown };
  if (command.kind !== 'kv' || typeof command.key !== 'string') return null;
  if (command.op === 'delete') return { type: 'DELETE', key: command.key, value: new Uint8Array(0), revision };
  if (command.op !== 'put') return null;
  const value = command.value;
  const bytes = typeof value === 'string' ? encoder.encode(value) : value instanceof Uint8Array ? value : new Uint8Array(0);
  return { type: 'PUT', key: command.key, value: bytes, revision };
}

export class WatchHub implements WatchSource {
  private readonly history: Recorded[] = [];
  private historyBytes = 0;
  /** Every change after this revision is in `history` (or was not a key change). */
  private knownAfter: number;
  private current: number;
  private readonly watchers = new Set<Watcher>();

  constructor(
    revision: number,
    private readonly opts: WatchHubOptions = DEFAULT_WATCH_HISTORY,
  ) {
    this.knownAfter = revision;
    this.current = revision;
  }

  /** A command changed the state at `revision` (one higher than before). */
  recordChange(revision: number, data: Uint8Array): void {
    this.current = revision;
    const recorded: Recorded = { revision, data };
    this.history.push(recorded);
    this.historyBytes += data.byteLength;
    while (this.history.length > this.opts.maxEvents || (this.historyBytes > this.opts.maxBytes && this.history.length > 1)) {
      const dropped = this.history.shift()!;
      this.historyBytes -= dropped.data.byteLength;
      this.knownAfter = dropped.revision;
    }
    if (this.watchers.size === 0) return;
    const change = this.decode(recorded);
    if (change === null) return;
    for (const w of this.watchers) if (change.revision >= w.from && matches(w.filter, change.key)) w.subscriber.onChange(change);
  }

  /**
   * The state was replaced wholesale (a snapshot from the leader) at `revision`: the changes in
   * between are unknown here, so every watch ends and history starts afresh.
   */
  reset(revision: number): void {
    const lost = [...this.watchers];
    this.watchers.clear();
    this.history.length = 0;
    this.historyBytes = 0;
    this.knownAfter = revision;
    this.current = revision;
    for (const w of lost) {
      w.subscriber.onLost(`this controller installed a snapshot at revision ${revision}; watch again from revision ${revision + 1}`);
    }
  }

  subscribe(filter: WatchFilter, startRevision: number, subscriber: WatchSubscriber): WatchStart {
    const from = startRevision === 0 ? this.current + 1 : startRevision;
    if (from <= this.knownAfter) return { ok: false, historyFrom: this.knownAfter };
    // Replay first, then register: nothing is applied in between (one thread, no await).
    for (const recorded of this.history) {
      if (recorded.revision < from) continue;
      const change = this.decode(recorded);
      if (change !== null && matches(filter, change.key)) subscriber.onChange(change);
    }
    const watcher: Watcher = { filter, subscriber, from };
    this.watchers.add(watcher);
    return { ok: true, cancel: () => void this.watchers.delete(watcher) };
  }

  get watching(): number {
    return this.watchers.size;
  }

  private decode(recorded: Recorded): KvChange | null {
    if (recorded.decoded === undefined) recorded.decoded = kvChangeOf(recorded.data, recorded.revision);
    return recorded.decoded;
  }
}
