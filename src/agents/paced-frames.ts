/**
 * One stream's push frames written one at a time, each once the transport took the last (its
 * write callback: HTTP/2 flow control holds it until the agent's window has room), so a message
 * written straight to the stream meanwhile (a ping) goes out between two parts of a push rather
 * than behind all of them (push-parts.ts). A push written while frames wait queues behind them:
 * the parts of one push are never split by another.
 */
import type { ControllerFrame } from './sync-codec.js';

export type FrameSink = (frame: ControllerFrame, taken: () => void) => void;

export class PacedFrames {
  private readonly queue: { readonly frame: ControllerFrame; readonly last: (() => void) | null }[] = [];
  private writing = false;
  private closed = false;

  constructor(private readonly sink: FrameSink) {}

  /** Frames wait or one is being written: a push written now must queue behind them. */
  get busy(): boolean {
    return this.writing || this.queue.length > 0;
  }

  /** `taken`: called once the transport took the last of `frames`. */
  write(frames: readonly ControllerFrame[], taken: (() => void) | null = null): void {
    if (this.closed) return;
    frames.forEach((frame, i) => this.queue.push({ frame, last: i === frames.length - 1 ? taken : null }));
    if (!this.writing) this.next();
  }

  /** The stream ended: what waits is dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private next(): void {
    const item = this.closed ? undefined : this.queue.shift();
    if (item === undefined) {
      this.writing = false;
      return;
    }
    this.writing = true;
    this.sink(item.frame, () => {
      item.last?.();
      this.next();
    });
  }
}
