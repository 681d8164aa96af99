/**
 * The simulated clients: the writes they proposed, which were acknowledged, and the reads
 * they issued. This is where the client-visible guarantees are checked:
 *
 *  - a write is acknowledged only when the leader that proposed it applied it at the index and
 *    term propose() returned (anything else at that index means the proposal was lost);
 *  - no acknowledged write is ever lost: the entry applied at its index is that write, on
 *    every node, and at the end every member's value for its key is that write or a later one;
 *  - a read (ReadIndex, on a leader or a follower) returns a value at least as new as every
 *    write acknowledged before the read was issued, and at least as new as what every read that
 *    completed before it returned (linearizability orders completed operations in real time);
 *    its read index is likewise at least every earlier acknowledged write's and completed read's.
 */
import type { Entry, NodeId } from '../../src/raft/index.js';
import { InvariantViolation } from './invariants.js';
import { decodePut, type KvRecord, type PutCommand } from './kv.js';

export interface AckedWrite {
  readonly id: string;
  readonly key: string;
  readonly index: number;
  readonly term: number;
  readonly node: NodeId;
}

interface Proposal {
  readonly cmd: PutCommand;
  readonly incarnation: number;
  readonly term: number;
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
  private readonly proposals = new Map<NodeId, Map<number, Proposal>>();
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

  proposed(node: NodeId, incarnation: number, cmd: PutCommand, at: { index: number; term: number }): void {
    let mine = this.proposals.get(node);
    if (!mine) this.proposals.set(node, (mine = new Map()));
    mine.set(at.index, { cmd, incarnation, term: at.term });
  }

  /** How many proposals are still waiting on `node`. */
  waiting(node: NodeId): number {
    return this.proposals.get(node)?.size ?? 0;
  }

  /** `node` applied `e`; returns the write this acknowledges, if any. */
  onApply(node: NodeId, incarnation: number, e: Entry): AckedWrite | null {
    const mine = this.proposals.get(node);
    const p = mine?.get(e.index);
    if (!mine || !p) return null;
    mine.delete(e.index);
    if (p.incarnation !== incarnation) return null; // the proposing process died: the client gave up
    const put = e.kind === 'normal' ? decodePut(e.data) : null;
    if (e.term !== p.term || put?.id !== p.cmd.id) return null; // overwritten: the proposal was lost
    const w: AckedWrite = { id: p.cmd.id, key: p.cmd.key, index: e.index, term: e.term, node };
    this.ackedWrites.push(w);
    this.observed(w.key, w.index, w.index);
    return w;
  }

  /** The process died: its clients' pending proposals will never be answered. */
  onCrash(node: NodeId): void {
    this.proposals.delete(node);
  }

  /** Registers a read of `key` issued now and returns its ReadIndex context. */
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

  /** The read was dropped (the node knew no leader): nobody will serve it. */
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
