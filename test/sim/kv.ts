/**
 * The simulation's state machine: a tiny deterministic KV store fed with `put` commands that
 * each carry a unique id, plus the membership as of the last applied entry. It also keeps a
 * digest chained over every applied entry, so two nodes at the same applied index can be
 * compared in O(1): equal digests mean they applied the same entries in the same order.
 */
import { applyConfEntry, decodeConfEntry } from '../../src/raft/conf-change.js';
import type { ConfState, Entry, Snapshot } from '../../src/raft/index.js';

export interface PutCommand {
  readonly id: string;
  readonly key: string;
  readonly value: string;
}

/** What a key holds: the value, and which write (id, log index) put it there. */
export interface KvRecord {
  readonly value: string;
  readonly id: string;
  readonly index: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePut(c: PutCommand): Uint8Array {
  return encoder.encode(`put ${c.id} ${c.key} ${c.value}`);
}

export function decodePut(data: Uint8Array): PutCommand | null {
  const parts = decoder.decode(data).split(' ');
  if (parts.length !== 4 || parts[0] !== 'put') return null;
  return { id: parts[1]!, key: parts[2]!, value: parts[3]! };
}

/** Names an entry: two entries with the same identity are the same entry. */
export function entryIdentity(e: Entry): string {
  return `${e.term}:${e.kind}:${decoder.decode(e.data)}`;
}

interface SnapshotBody {
  readonly applied: number;
  readonly h1: number;
  readonly h2: number;
  readonly kv: ReadonlyArray<readonly [string, KvRecord]>;
}

export class KvStateMachine {
  private constructor(
    private appliedIndex: number,
    private h1: number,
    private h2: number,
    private confState: ConfState,
    private readonly data: Map<string, KvRecord>,
  ) {}

  static empty(conf: ConfState): KvStateMachine {
    return new KvStateMachine(0, 0x811c9dc5, 0x2545f491, conf, new Map());
  }

  /** The state a snapshot captured; index 0 is the empty state before any entry. */
  static fromSnapshot(snap: Snapshot): KvStateMachine {
    if (snap.meta.index === 0) return KvStateMachine.empty(snap.meta.conf);
    const body = JSON.parse(decoder.decode(snap.data)) as SnapshotBody;
    if (body.applied !== snap.meta.index) {
      throw new Error(`kv snapshot: expected data for index ${snap.meta.index}, found ${body.applied}`);
    }
    return new KvStateMachine(body.applied, body.h1, body.h2, snap.meta.conf, new Map(body.kv));
  }

  get applied(): number {
    return this.appliedIndex;
  }

  get conf(): ConfState {
    return this.confState;
  }

  /** A 53-bit digest of every entry applied so far, in order. */
  digest(): number {
    return (this.h2 & 0x1fffff) * 0x100000000 + (this.h1 >>> 0);
  }

  get(key: string): KvRecord | undefined {
    return this.data.get(key);
  }

  records(): ReadonlyMap<string, KvRecord> {
    return this.data;
  }

  /** Applies the next entry; entries must come one index at a time, without gaps. */
  apply(e: Entry, identity: string): void {
    if (e.index !== this.appliedIndex + 1) {
      throw new Error(`kv: expected to apply index ${this.appliedIndex + 1}, got ${e.index}`);
    }
    this.appliedIndex = e.index;
    this.mix(identity);
    if (e.kind === 'normal') {
      const put = decodePut(e.data);
      if (put) this.data.set(put.key, { value: put.value, id: put.id, index: e.index });
    } else if (e.kind === 'conf') {
      try {
        this.confState = applyConfEntry(this.confState, decodeConfEntry(e.data));
      } catch {
        // Raft ignores a conf entry it cannot decode; so does the state machine.
      }
    }
  }

  snapshotData(): Uint8Array {
    const body: SnapshotBody = { applied: this.appliedIndex, h1: this.h1, h2: this.h2, kv: [...this.data] };
    return encoder.encode(JSON.stringify(body));
  }

  private mix(s: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    // Separate entries so that "ab","c" and "a","bc" differ.
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    this.h1 = h1 >>> 0;
    this.h2 = h2 >>> 0;
  }
}
