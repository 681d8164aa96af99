/**
 * The simulated clients: the writes they proposed, which were acknowledged, and the reads
 * they issued. This is where the client-visible guarantees are checked:
 *
 *  - a write is acknowledged when the RaftHost that took it resolves its proposal; the entry
 *    applied at the index and term the proposal landed at must then be that write (RaftHost
 *    rejects a proposal whose index another entry took);
 *  - no acknowledged write is ever lost: the entry applied at its index is that write, on
 *    every node, and at the end every member's value for its key is that write or a later one;
 *  - a read (ReadIndex, on a leader or a follower) returns a value at least as new as every
 *    write acknowledged before the read was issued, and at least as new as what every read that
 *    completed before it returned (linearizability orders completed operations in real time);
 *    its read index is likewise at least every earlier acknowledged write's and completed read's.
 */
import type { NodeId } from '../../src/raft/index.js';
import { InvariantViolation, type SafetyChecker } from './invariants.js';
import { encodePut, entryIdentity, type KvRecord, type PutCommand } from './kv.js';

export interface AckedWrite {
  readonly id: string;
  readonly key: string;
  readonly index: number;
  readonly term: number;
  readonly node: NodeId;
}

interface PendingRead {
  readonly key: string;
  readonly node: NodeId;
  /** Index of the newest write to `key` acknowledged, or returned by a completed read, when the read was issued. */
  readonly newestForKey: number;
  /** The newest acknowledged write index or completed read index, when the read was issued. */
  readonly newest: number;
}

export class ClientTracker {
  private nextWrite = 1;
  private nextRead = 1;
  private readonly ackedWrites: AckedWrite[] = [];
  /** Per key: the newest write index a completed operation (ack or read) made visible. */
  private readonly newestByKey = new Map<string, number>();
  /** The newest log index a completed operation (ack or read) made visible. */
  private newest = 0;
  private readonly reads = new Map<string, PendingRead>();
  readsServed = 0;

  acked(): readonly AckedWrite[] {
    return this.ackedWrites;
  }

  newWrite(key: string): PutCommand {
    const n = this.nextWrite++;
    return { id: `w${n}`, key, value: `v${n}` };
  }

  /**
   * `node` acknowledged `cmd`, proposed at `at`. What was applied at that index (by the first
   * node to apply it, which the state machine safety check holds every other node to) must be
   * that very entry.
   */
  onAck(node: NodeId, cmd: PutCommand, at: { index: number; term: number }, safety: SafetyChecker): AckedWrite {
    const expected = entryIdentity({ index: at.index, term: at.term, kind: 'normal', data: encodePut(cmd) });
    const applied = safety.appliedIdentity(at.index);
    if (applied !== expected) {
      throw new InvariantViolation(
        'wrong-acknowledgement',
        `${node} acknowledged ${cmd.id} at ${at.index}/${at.term}, where ${applied === undefined ? 'nothing' : JSON.stringify(applied)} was applied`,
      );
    }
    const w: AckedWrite = { id: cmd.id, key: cmd.key, index: at.index, term: at.term, node };
    this.ackedWrites.push(w);
    this.observed(w.key, w.index, w.index);
    return w;
  }

  /** Registers a read of `key` issued now and returns its id. */
  issueRead(node: NodeId, key: string): string {
    const context = `r${this.nextRead++}`;
    this.reads.set(context, {
      key,
      node,
      newestForKey: this.newestByKey.get(key) ?? 0,
      newest: this.newest,
    });
    return context;
  }

  /** The read was refused or failed: nobody will serve it. */
  abandonRead(context: string): void {
    this.reads.delete(context);
  }

  /** `node` serves the read `context` at read index `index`, having applied at least that far. */
  onReadServed(node: NodeId, context: string, index: number, get: (key: string) => KvRecord | undefined): void {
    const r = this.reads.get(context);
    if (!r) return; // a duplicate answer, or one for a read issued by a process that died
    this.reads.delete(context);
    const value = get(r.key);
    this.readsServed++;
    if (index < r.newest) {
      throw new InvariantViolation(
        'stale-read',
        `read ${context} on ${node} got read index ${index}, below index ${r.newest} ` +
          'that an acknowledged write or a completed read had reached before it was issued',
      );
    }
    const seen = value?.index ?? 0;
    if (seen < r.newestForKey) {
      throw new InvariantViolation(
        'stale-read',
        `read ${context} of ${r.key} on ${node} returned the write at ${seen}, older than the write at ` +
          `${r.newestForKey} that was acknowledged or read before this read was issued`,
      );
    }
    this.observed(r.key, seen, index);
  }

  private observed(key: string, valueIndex: number, index: number): void {
    if ((this.newestByKey.get(key) ?? 0) < valueIndex) this.newestByKey.set(key, valueIndex);
    if (this.newest < index) this.newest = index;
  }

  /** Every acknowledged write is still there on a node that applied `applied` entries. */
  checkNothingLost(node: NodeId, applied: number, get: (key: string) => KvRecord | undefined): void {
    for (const w of this.ackedWrites) {
      if (w.index > applied) continue;
      const rec = get(w.key);
      if (!rec || rec.index < w.index) {
        throw new InvariantViolation(
          'acknowledged-write-lost',
          `${node} applied up to ${applied} but ${w.key} holds ${rec ? `the write at ${rec.index}` : 'nothing'}, ` +
            `older than acknowledged write ${w.id} at ${w.index}`,
        );
      }
      if (rec.index === w.index && rec.id !== w.id) {
        throw new InvariantViolation(
          'acknowledged-write-lost',
          `${node} holds ${rec.id} at ${w.index} where ${w.id} was acknowledged`,
        );
      }
    }
  }
}
