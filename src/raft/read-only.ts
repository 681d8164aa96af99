/**
 * ReadIndex (Raft thesis §6.4): a read is linearizable if served after the state machine
 * applied the commit index the leader had when the read arrived, provided the leader then
 * confirmed with a quorum (a heartbeat round) that it was still leader.
 */
import type { NodeId } from './types.js';

export interface ReadRequest {
  readonly context: string;
  /** The node whose client asked: the leader itself or a follower. */
  readonly from: NodeId;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadRequest>();
  private readonly queue: string[] = [];

  add(context: string, from: NodeId, index: number): void {
    if (this.pending.has(context)) return;
    this.pending.set(context, { context, from, index, acks: new Set() });
    this.queue.push(context);
  }

  /** Records an ack; returns the acks so far, or null for an unknown context. */
  recvAck(from: NodeId, context: string): ReadonlySet<NodeId> | null {
    const r = this.pending.get(context);
    if (!r) return null;
    r.acks.add(from);
    return r.acks;
  }

  /** Releases the request for `context` and every request queued before it: a quorum
   * confirming a later heartbeat confirms leadership for earlier ones too. */
  advance(context: string): ReadRequest[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const done = this.queue.splice(0, at + 1);
    return done.map((c) => {
      const r = this.pending.get(c)!;
      this.pending.delete(c);
      return r;
    });
  }

  lastPending(): string | null {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1]! : null;
  }

  size(): number {
    return this.queue.length;
  }
}
