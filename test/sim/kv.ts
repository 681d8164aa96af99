/**
 * The simulation's state machine, behind RaftHost's ReplicatedStateMachine port: a tiny
 * deterministic KV store fed with `put` commands that each carry a unique id. It keeps a digest
 * chained over every applied entry (no-ops and conf entries too), so two nodes at the same
 * applied index can be compared in O(1): equal digests mean they applied the same entries in
 * the same order. What it applies and restores is reported to the simulation's checks.
 */
import type { Entry } from '../../src/raft/index.js';
import type { ReplicatedStateMachine, SnapshotJob } from '../../src/node/raft-ports.js';
import type { ApplyResult } from '../../src/statemachine/index.js';
import { SimMembers } from './sim-members.js';

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
  /** The members records (identities included), as the production members kind snapshots them. */
  readonly members?: unknown;
}

/** What the simulation's checks learn from a node's state machine. */
export interface KvObserver {
  applied(e: Entry, identity: string, digest: number): void;
  restored(index: number, digest: number): void;
}

const H1 = 0x811c9dc5;
const H2 = 0x2545f491;

export class KvStateMachine implements ReplicatedStateMachine {
  private appliedTo = 0;
  private h1 = H1;
  private h2 = H2;
  private data = new Map<string, KvRecord>();
  /** Membership and identity records, kept as the controller keeps them. */
  readonly members = new SimMembers();

  constructor(private readonly observer: KvObserver | null = null) {}

  get appliedIndex(): number {
    return this.appliedTo;
  }

  revision(): number {
    return this.appliedTo;
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

  apply(_index: number, _data: Uint8Array, entry: Entry): ApplyResult {
    this.applyEntry(entry);
    return { ok: true, revision: this.appliedTo };
  }

  advance(_index: number, entry: Entry): void {
    this.applyEntry(entry);
  }

  snapshot(): Uint8Array {
    const body: SnapshotBody = { applied: this.appliedTo, h1: this.h1, h2: this.h2, kv: [...this.data], members: this.members.snapshot() };
    return encoder.encode(JSON.stringify(body));
  }

  /**
   * The bytes are taken now; the job completes after 1-4 steps (by the index, so a seed replays
   * alike), and entries apply between them, as they do while the controller serializes a large
   * state: the host must store the snapshot at the captured index, not the applied one.
   */
  startSnapshot(): SnapshotJob {
    const data = this.snapshot();
    const index = this.appliedTo;
    let steps = (index % 4) + 1;
    return {
      index,
      revision: index,
      step: () => --steps <= 0,
      bytes: () => {
        if (steps > 0) throw new Error(`sim snapshot at ${index} read before it completed`);
        return data;
      },
    };
  }

  restore(bytes: Uint8Array): void {
    if (bytes.length === 0) {
      this.appliedTo = 0;
      this.h1 = H1;
      this.h2 = H2;
      this.data = new Map();
      this.members.restore(undefined);
    } else {
      const body = JSON.parse(decoder.decode(bytes)) as SnapshotBody;
      this.appliedTo = body.applied;
      this.h1 = body.h1;
      this.h2 = body.h2;
      this.data = new Map(body.kv);
      this.members.restore(body.members);
    }
    this.observer?.restored(this.appliedTo, this.digest());
  }

  /** Applies the next entry; entries must come one index at a time, without gaps. */
  private applyEntry(e: Entry): void {
    if (e.index !== this.appliedTo + 1) {
      throw new Error(`kv: expected to apply index ${this.appliedTo + 1}, got ${e.index}`);
    }
    const identity = entryIdentity(e);
    this.appliedTo = e.index;
    this.mix(identity);
    if (e.kind === 'normal') {
      const put = decodePut(e.data);
      if (put) this.data.set(put.key, { value: put.value, id: put.id, index: e.index });
      else this.members.applyCommand(e.index, e.data);
    } else if (e.kind === 'conf') {
      this.members.applyConf(e.index, e.data);
    }
    this.observer?.applied(e, identity, this.digest());
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
