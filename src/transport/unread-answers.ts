/**
 * What the gRPC port holds of unary answers written and not yet read. grpc-js writes an answer
 * whole into its HTTP/2 stream, and flow control keeps it there until the client reads it: 300
 * Range calls of 3 MB on one connection whose client read nothing took a one-node controller from
 * 106 MB to 979 MB, and kept it (attack round 13; 1,024 streams a connection, 60,000 connections).
 *
 * So the bytes that unary answers still hold in their streams (`writableLength`) are held to
 * one budget for the port, as request bytes still arriving are (incomplete-requests.ts): past it,
 * the streams whose calls began longest ago are reset (ENHANCE_YOUR_CALM: the client sees
 * RESOURCE_EXHAUSTED) until the rest fit. An honest client reads its answer within a round trip
 * or a few; the budget holds four of the largest answers (64 MiB). Streamed answers are bounded
 * where they are written (watches, audit follows, agent streams, KvSession, snapshot saves).
 *
 * Judged as answers are written (`written()`), not by a timer: one turn of the loop wrote all 300
 * answers of 3 MB. An answer that takes the bytes counted since the last sweep past the budget
 * sweeps at once, down to half the budget, so sweeps (each over the unary calls in flight) come
 * at most once per half a budget of answers; otherwise one sweep follows at the end of the turn.
 * The node's driver sweeps now and then too.
 */
import http2 from 'node:http2';
import { resetByServer } from './server-reset.js';

/** Bytes of unary answers unread the port holds at most, all streams together. */
export const UNREAD_ANSWER_BUDGET_BYTES = 256 * 1024 * 1024;
/** How often the driver sweeps besides: answers left unread are cut here once others went. */
export const UNREAD_ANSWER_SWEEP_MS = 1_000;

/** What a watched stream is for the sweep: its buffered bytes, and how to reset it. */
export interface AnswerStream {
  /** Bytes written that the transport has not taken (Node's `bufferSize` counts the chunk in hand twice). */
  readonly writableLength: number;
  readonly destroyed: boolean;
  close(code: number): void;
  once(event: 'close', listener: () => void): unknown;
}

export class UnreadAnswers {
  /** Unary streams in flight, in the order their calls began. */
  private readonly watched = new Set<AnswerStream>();
  private sweepDue = false;
  /** What the last sweep counted, and the answers' bytes written since: above what is held. */
  private counted = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly onCut: () => void = () => undefined,
    /** Runs `fn` once the current turn of the loop is done (setImmediate). */
    private readonly soon: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /** A unary answer was written to `stream`: sweeps now past the budget, else once this turn is done. */
  written(stream: AnswerStream): void {
    this.counted += stream.destroyed ? 0 : stream.writableLength;
    if (this.counted > this.budgetBytes) {
      this.sweep();
      return;
    }
    if (this.sweepDue) return;
    this.sweepDue = true;
    this.soon(() => {
      this.sweepDue = false;
      this.sweep();
    });
  }

  get streams(): number {
    return this.watched.size;
  }

  /** Counts `stream`'s unread answer bytes until it closes. */
  watch(stream: AnswerStream): void {
    this.watched.add(stream);
    stream.once('close', () => this.watched.delete(stream));
  }

  /**
   * When the streams hold more than the budget, resets the oldest holding unread bytes until they
   * hold half of it; how many it reset.
   */
  sweep(): number {
    let total = 0;
    const holding: AnswerStream[] = [];
    for (const s of this.watched) {
      const bytes = s.destroyed ? 0 : s.writableLength;
      if (bytes <= 0) continue;
      total += bytes;
      holding.push(s);
    }
    let cut = 0;
    const target = total > this.budgetBytes ? this.budgetBytes / 2 : total;
    for (const s of holding) {
      if (total <= target) break;
      total -= s.writableLength;
      this.watched.delete(s);
      // This server's cut, not the client's reset: it spends none of the connection's reset budget.
      resetByServer(s, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      this.onCut();
      cut += 1;
    }
    this.counted = total;
    return cut;
  }
}
