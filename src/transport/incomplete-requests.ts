/**
 * What the gRPC port holds of messages still arriving. grpc-js keeps each request message in its
 * stream's decoder until the last byte comes, up to the largest message the port accepts, and
 * nothing bounded how many a client could leave unfinished: 1,500 unary calls sent all but their
 * last byte took a leader from 96 MB to 4.5 GB, and kept it (attack round 10), from any
 * certificate, an agent's included, since a health check takes a message too.
 *
 * So every stream's bytes are counted as they arrive, by the gRPC framing (a 5-byte prefix, then
 * the message), and the bytes of messages not yet complete are held to one budget for the port:
 * past it, the stream whose unfinished message has waited longest is reset (ENHANCE_YOUR_CALM:
 * its client sees RESOURCE_EXHAUSTED), as the watches' budget cuts the watch unread longest. An
 * honest sender finishes its message within a round trip or two, so the one that has waited
 * longest is the one that sends least. A message that stops arriving altogether is reset once
 * it has had no byte for the stall time (a sweep the driver runs), however little it holds; the
 * time the server itself held the stream's reads up does not count (held-reads.ts).
 *
 * Every call awaits its first message from its start, streaming calls included (every client of
 * ours sends its first message with its headers), and the calls awaiting a message are held to a
 * number for the port as well, past which the one that has gone longest without a byte is reset:
 * a call costs its stream and its headers (up to 8 KiB, header-list-cap.ts), about 21 KB in all,
 * whatever its message holds. Longest without a byte, not longest awaiting: a large message
 * arriving steadily (a Step batch to a busy follower) is never the one cut for a flood of calls
 * that send nothing. Before (attack round 15), only the connection's 1,024 streams bounded them:
 * header-only calls, kept past the stall time by a byte of a message every 20 s, or KvSessions
 * that never sent a request (held for good), took a follower from 90 MB to 1 GB per 40
 * connections of 1,000, and a leader whose client closed 40 such connections at once had its loop
 * held 1.2 s and lost its term.
 *
 * What an unfinished message holds is counted, not only its bytes: every chunk of it that Node's
 * HTTP/2 layer hands over is kept as a Buffer of its own until the message is whole (grpc-js's
 * decoder keeps a slice of each, as message-frames.ts does), and a DATA frame may carry a single
 * byte. Counted by its bytes alone, a message sent a byte a frame held about 160 bytes of memory
 * for each byte the budget counted: 8 MB of messages so sent, in four unary calls of one operator
 * certificate, took a follower from 84 MB to 1.36 GB, and 48 MB on three connections to its heap's
 * limit (session 61). So each chunk is charged HELD_CHUNK_COST_BYTES on top of its bytes.
 *
 * No timers of its own: `sweep(now)` is called by the node's driver.
 */
import * as http2 from 'node:http2';
import { watchHeldReads } from './held-reads.js';
import { resetByServer } from './server-reset.js';

/** Bytes of unfinished request messages the port holds at most, all streams together. */
export const INCOMPLETE_REQUEST_BUDGET_BYTES = 64 * 1024 * 1024;
/** Calls awaiting a message (their first, or the rest of one) the port holds at most, all connections together. */
export const INCOMPLETE_REQUEST_MAX_CALLS = 4_096;
/** An unfinished message that has had no byte for this long is reset. */
export const INCOMPLETE_REQUEST_STALL_MS = 30_000;

/** How often the driver sweeps for stalled messages. */
export const INCOMPLETE_SWEEP_MS = 1_000;

export type IncompleteCut = 'budget' | 'calls' | 'stalled' | 'chunks';

/**
 * Chunks Node may have handed a stream that no reader has taken yet, at most. A stream the server
 * stopped reading (grpc-js between a call's messages, a KvSession holding its answers' budget)
 * still takes what its window lets in, 64 KiB, each chunk a Buffer in its read buffer: sent a
 * byte a DATA frame, a window is 65,535 Buffers (about 160 bytes each) that neither the budget
 * nor the stall sweep sees. An honest client's unread chunks are its messages in flight, each a
 * frame or two: a KvSession's 1,024 requests at most (its client's bound), a member's batches
 * in frames of 16 KiB; a window of the smallest KvSession requests (16 bytes), each a frame of
 * its own, is 4,096.
 */
export const MAX_UNREAD_CHUNKS = 8_192;

const PREFIX_BYTES = 5;

/**
 * What the port is charged for each chunk of an unfinished message beyond its bytes: the Buffer
 * object kept for it (about 160 bytes measured on Node 20, a DATA frame of one byte, its view of
 * the socket read included), rounded up. A large message arriving in 16 KiB frames costs 1.6% more.
 */
export const HELD_CHUNK_COST_BYTES = 256;

/** One stream's place in its current message, read from the bytes as they come. */
export class FrameProgress {
  /** Bytes of the 5-byte prefix read so far (0-4), while in a prefix. */
  private prefixRead = 0;
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  /** Bytes of the message body still to come; null while in a prefix. */
  private bodyLeft: number | null = null;
  /** Bytes of the current, unfinished message received (prefix included). */
  pending = 0;
  /** Chunks the current, unfinished message came in (each kept whole or as a slice until it is). */
  heldChunks = 0;
  /** Messages completed so far. */
  completed = 0;

  /** What the unfinished message holds: its bytes, and HELD_CHUNK_COST_BYTES a chunk it came in. */
  get cost(): number {
    return this.pending + this.heldChunks * HELD_CHUNK_COST_BYTES;
  }

  /** Takes one chunk; returns how `cost` changed (negative when messages completed). */
  take(chunk: Buffer): number {
    const before = this.cost;
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft === null) {
        const n = Math.min(PREFIX_BYTES - this.prefixRead, chunk.length - at);
        chunk.copy(this.prefix, this.prefixRead, at, at + n);
        this.prefixRead += n;
        this.pending += n;
        at += n;
        if (this.prefixRead === PREFIX_BYTES) {
          this.bodyLeft = this.prefix.readUInt32BE(1);
          this.prefixRead = 0;
        }
      } else {
        const n = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= n;
        this.pending += n;
        at += n;
      }
      if (this.bodyLeft === 0) {
        this.bodyLeft = null;
        this.pending = 0;
        this.heldChunks = 0;
        this.completed += 1;
      }
    }
    // The chunk's last bytes belong to the unfinished message: it is held until that is whole.
    if (this.pending > 0) this.heldChunks += 1;
    return this.cost - before;
  }
}

interface Watched {
  readonly stream: http2.ServerHttp2Stream;
  readonly progress: FrameProgress;
  /** When its unfinished message began (ms), or null while it has none. A call awaits its first
   * message from its start, as if that had begun with the headers. */
  since: number | null;
  /** When a byte last came (ms), moved on by the time the server held its reads up since. */
  lastByte: number;
  /** Since when the server holds its reads up (ms), or null: the stall clock does not run meanwhile. */
  heldSince: number | null;
  /** Chunks Node handed the stream that no reader has taken yet (they wait in its read buffer). */
  unread: number;
}

export class IncompleteRequests {
  private readonly watched = new Set<Watched>();
  /** The watched streams with an unfinished message, by when their last byte came (the first has gone longest without one). */
  private readonly unfinished = new Set<Watched>();
  private total = 0;

  constructor(
    private readonly opts: { readonly budgetBytes: number; readonly stallMs: number; readonly maxCalls: number },
    private readonly now: () => number,
    private readonly onCut: (reason: IncompleteCut) => void = () => undefined,
  ) {}

  /** What unfinished messages hold now, all streams together: their bytes and their chunks' cost (HELD_CHUNK_COST_BYTES). */
  get pendingBytes(): number {
    return this.total;
  }

  get streams(): number {
    return this.watched.size;
  }

  /** Calls awaiting a message now (their first, or the rest of one). */
  get awaiting(): number {
    return this.unfinished.size;
  }

  /**
   * Counts `stream`'s request bytes from now until it closes. The call awaits its first message
   * from now, so a stream that sends none is stalled as one that stops halfway is, and counts
   * against the calls the port holds: header-only calls held open cost the port as much as any.
   */
  watch(stream: http2.ServerHttp2Stream): void {
    const now = this.now();
    const w: Watched = { stream, progress: new FrameProgress(), since: null, lastByte: now, heldSince: null, unread: 0 };
    this.watched.add(w);
    this.begin(w, now);
    // Every chunk Node hands the stream goes through push, read or not; 'data' is its reading.
    const push = stream.push;
    stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk !== null) this.arrived(w);
      return push.call(stream, chunk, encoding);
    };
    stream.on('data', (chunk: Buffer) => this.took(w, chunk));
    watchHeldReads(stream, (held) => this.held(w, held));
    stream.once('close', () => this.forget(w));
    this.trimCalls();
  }

  /** Resets the unfinished messages that have had no byte for the stall time, the time the server held their reads up aside. */
  sweep(now: number = this.now()): void {
    for (const w of [...this.unfinished]) {
      if (w.heldSince === null && now - w.lastByte >= this.opts.stallMs) this.cut(w, 'stalled');
    }
  }

  /** The server stopped reading `w` (a handler bounding what it holds), or reads it again: no byte could come meanwhile. */
  private held(w: Watched, held: boolean): void {
    if (held) {
      w.heldSince ??= this.now();
    } else if (w.heldSince !== null) {
      w.lastByte += this.now() - w.heldSince;
      w.heldSince = null;
    }
  }

  /** A chunk came to `w`'s read buffer: past MAX_UNREAD_CHUNKS waiting there, the stream is reset. */
  private arrived(w: Watched): void {
    w.unread += 1;
    if (w.unread > MAX_UNREAD_CHUNKS && this.watched.has(w)) this.cut(w, 'chunks');
  }

  private took(w: Watched, chunk: Buffer): void {
    // Read one at a time; an empty read buffer holds none whatever the count says.
    w.unread = w.stream.readableLength === 0 ? 0 : Math.max(0, w.unread - 1);
    if (!this.watched.has(w)) return;
    const now = this.now();
    w.lastByte = now;
    const completedBefore = w.progress.completed;
    this.total += w.progress.take(chunk);
    // The unfinished message is a new one when none was, or when one completed in this chunk.
    if (w.progress.pending === 0) {
      if (w.progress.completed !== 0) this.end(w);
    } else if (w.since === null || w.progress.completed !== completedBefore) {
      this.begin(w, now);
      this.trimCalls();
    } else this.heard(w);
    while (this.total > this.opts.budgetBytes) {
      const oldest = this.oldestUnfinished();
      if (oldest === null) break;
      this.cut(oldest, 'budget');
    }
  }

  private oldestUnfinished(): Watched | null {
    let oldest: Watched | null = null;
    for (const w of this.unfinished) {
      // A call still awaiting its message holds no bytes: the stall sweep and the calls cap are its bound, not the budget.
      if (w.since === null || w.progress.pending === 0) continue;
      if (oldest === null || w.since < oldest.since! || (w.since === oldest.since && w.progress.cost > oldest.progress.cost)) oldest = w;
    }
    return oldest;
  }

  private cut(w: Watched, reason: IncompleteCut): void {
    this.forget(w);
    this.onCut(reason);
    if (!w.stream.closed && !w.stream.destroyed) resetByServer(w.stream, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /** Past the calls cap, resets the calls that have gone longest without a byte. */
  private trimCalls(): void {
    while (this.unfinished.size > this.opts.maxCalls) {
      const [oldest] = this.unfinished;
      if (oldest === undefined) break;
      this.cut(oldest, 'calls');
    }
  }

  /** `w`'s unfinished message began at `now`. */
  private begin(w: Watched, now: number): void {
    w.since = now;
    this.heard(w);
  }

  /** A byte of `w`'s unfinished message came now: it goes last in the order of silence. */
  private heard(w: Watched): void {
    this.unfinished.delete(w);
    this.unfinished.add(w);
  }

  private end(w: Watched): void {
    w.since = null;
    this.unfinished.delete(w);
  }

  private forget(w: Watched): void {
    if (!this.watched.delete(w)) return;
    this.unfinished.delete(w);
    this.total -= w.progress.cost;
    w.progress.pending = 0;
    w.progress.heldChunks = 0;
  }
}
