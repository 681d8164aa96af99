/**
 * The messages waiting for one peer: heartbeats and their answers go ahead of the rest
 * (peer-link.ts says why), each kind in the order it came. The queue is bounded, and past its
 * bound it drops the oldest message, whichever kind that is. Dropping the head of one array that
 * held the heartbeats first dropped a new heartbeat at once whenever the queue was full of
 * appends (a follower down, or a burst): none went out until the appends drained (review-38).
 */
import type { Message } from '../raft/messages.js';

interface Queued {
  readonly m: Message;
  /** Arrival order across both kinds: the oldest is dropped first. */
  readonly seq: number;
}

export class OutboundQueue {
  private ahead: Queued[] = [];
  private rest: Queued[] = [];
  private nextSeq = 0;

  constructor(
    private readonly max: number,
    private readonly jumps: (m: Message) => boolean,
  ) {}

  get length(): number {
    return this.ahead.length + this.rest.length;
  }

  /** Queues `m`; returns how many messages were dropped to stay within the bound. */
  push(m: Message): number {
    (this.jumps(m) ? this.ahead : this.rest).push({ m, seq: this.nextSeq++ });
    let dropped = 0;
    while (this.length > this.max) {
      const a = this.ahead[0];
      const r = this.rest[0];
      if (a !== undefined && (r === undefined || a.seq < r.seq)) this.ahead.shift();
      else this.rest.shift();
      dropped += 1;
    }
    return dropped;
  }

  /** The next batch: messages in sending order while their sizes fit `budget`, always at least one. */
  take(budget: number, sizeOf: (m: Message) => number): Message[] {
    const batch: Message[] = [];
    let size = 0;
    for (const from of [this.ahead, this.rest]) {
      let n = 0;
      for (const q of from) {
        const s = sizeOf(q.m);
        // Always take one: a single oversized message is left to gRPC to refuse, visibly.
        if (batch.length + n > 0 && size + s > budget) break;
        size += s;
        n += 1;
      }
      for (const q of from.splice(0, n)) batch.push(q.m);
      if (from.length > 0) break;
    }
    return batch;
  }

  /** Empties the queue; returns what it held, in sending order. */
  drain(): Message[] {
    const all = [...this.ahead, ...this.rest].map((q) => q.m);
    this.ahead = [];
    this.rest = [];
    return all;
  }
}
