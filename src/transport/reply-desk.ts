/**
 * The acks this node owes on its peers' StepStreams, and the Raft messages that ride back in
 * them (proto/peer.proto, StepAck.reply).
 *
 * A leader's batch (Append, Heartbeat) is answered by the follower's AppendResp or
 * HeartbeatResp. Sent as a batch of its own, the answer costs the follower a write on its own
 * stream and the leader an ack back, on top of the ack of the leader's batch: four gRPC
 * messages per batch, each a wake-up and tens of µs of grpc-js work. Held until the answer is
 * ready, the ack carries the answer: two. The sender keeps at most two batches in flight, so
 * a held ack can delay its batches; the hold is therefore short and bounded: the ack goes back empty
 * when the node's Ready loop has nothing more to do (`releaseAll`, called by the host), or
 * after `holdMs` at the latest, and messages that do not fit, or find no ack owed, go on the
 * node's own link as before. Raft tolerates the reordering between the two paths.
 */
import type { Message } from '../raft/messages.js';
import type { OutgoingBatch } from './batch-codec.js';
import { estimateSize } from './codec.js';
import type { OutgoingAck } from './peer-methods.js';

/** The server side of one StepStream, as far as acks go. */
export interface AckStream {
  write(ack: OutgoingAck): unknown;
  readonly cancelled: boolean;
}

export interface ReplyDeskContext {
  /** How long an ack may wait for messages to carry; 0: acks go at once, empty. */
  readonly holdMs: number;
  /** Bytes of messages one reply may carry. */
  readonly budgetBytes: number;
  /** The batch envelope for messages to `peer`. */
  readonly envelope: (peer: string, messages: readonly Message[]) => OutgoingBatch;
  /** Messages carried back: counted as sent. */
  readonly onCarried: (count: number) => void;
}

interface Owed {
  readonly stream: AckStream;
  readonly timer: NodeJS.Timeout;
}

export class ReplyDesk {
  private readonly owed = new Map<string, Owed>();

  constructor(private readonly ctx: ReplyDeskContext) {}

  /** Whether acks are held at all (holdMs > 0). */
  get holding(): boolean {
    return this.ctx.holdMs > 0;
  }

  /** A batch from `peer` arrived on `stream` asking for replies: its ack is owed, for now. */
  owe(peer: string, stream: AckStream): void {
    this.release(peer);
    const timer = setTimeout(() => this.release(peer), this.ctx.holdMs);
    timer.unref();
    this.owed.set(peer, { stream, timer });
  }

  /** Puts what fits of `messages` (all to `peer`, in order) in the ack owed to `peer`, if one is;
   * returns the rest, for the link. */
  carry(peer: string, messages: readonly Message[]): readonly Message[] {
    const owed = this.owed.get(peer);
    if (owed === undefined) return messages;
    let size = 0;
    let n = 0;
    for (const m of messages) {
      if (m.type === 'InstallSnapshot') break;
      const s = estimateSize(m);
      if (n > 0 && size + s > this.ctx.budgetBytes) break;
      // A single message above the budget goes on the link, where gRPC refuses it visibly.
      if (s > this.ctx.budgetBytes) break;
      size += s;
      n += 1;
    }
    if (n === 0) return messages;
    this.take(peer, owed);
    if (owed.stream.cancelled) return messages;
    owed.stream.write({ reply: this.ctx.envelope(peer, messages.slice(0, n)) });
    this.ctx.onCarried(n);
    return messages.slice(n);
  }

  /** Sends the ack owed to `peer`, empty. */
  release(peer: string): void {
    const owed = this.owed.get(peer);
    if (owed === undefined) return;
    this.take(peer, owed);
    if (!owed.stream.cancelled) owed.stream.write({ reply: null });
  }

  /** The node has nothing more to answer for now: every owed ack goes, empty. */
  releaseAll(): void {
    for (const peer of [...this.owed.keys()]) this.release(peer);
  }

  /** `stream` ended or broke: whatever it was owed is owed no more. */
  forget(stream: AckStream): void {
    for (const [peer, owed] of this.owed) if (owed.stream === stream) this.take(peer, owed);
  }

  /** Sends the ack `stream` is owed, if any, empty: before the stream is ended. */
  releaseStream(stream: AckStream): void {
    for (const [peer, owed] of this.owed) if (owed.stream === stream) this.release(peer);
  }

  close(): void {
    for (const [peer, owed] of this.owed) this.take(peer, owed);
  }

  private take(peer: string, owed: Owed): void {
    clearTimeout(owed.timer);
    this.owed.delete(peer);
  }
}
