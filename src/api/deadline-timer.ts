/**
 * Many deadlines on one timer: the timer is armed for the earliest deadline still pending, and
 * when it fires every deadline passed by then expires, earliest first (the order of their own
 * timers). A KvSession's Gets waiting for room to read (kv-session-reads.ts) each had a timer of
 * their own, up to 1,024 per session and some 52,000 per client; now a session has one.
 *
 * Cancelled deadlines are dropped from the heap lazily, and the heap rebuilt from those pending
 * once the cancelled outnumber them: a session whose Gets wait briefly, with deadlines minutes
 * away, holds what waits, not every Get that waited.
 */
import type { GridTimers } from '../util/beat-grid.js';
import { BinaryHeap } from '../util/binary-heap.js';
import type { Timer } from '../util/clock.js';

/** The loop's one-shot timer on the clock the deadlines are given in (Date.now), as the beat grid takes it. */
export type DeadlineTimers = GridTimers<unknown>;

const REAL_TIMERS: DeadlineTimers = {
  now: () => Date.now(),
  set: (fire, ms) => setTimeout(fire, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly expire: () => void;
  done: boolean;
}

/** Cancelled entries the heap may hold beside the pending ones before it is rebuilt. */
const SLACK = 64;

export class DeadlineTimer {
  private readonly heap = new BinaryHeap<Entry>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private readonly pending = new Set<Entry>();
  private seq = 0;
  private handle: unknown = null;
  /** The deadline the timer is armed for; Infinity: not armed. */
  private armedFor = Infinity;

  constructor(private readonly timers: DeadlineTimers = REAL_TIMERS) {}

  /** Deadlines pending. */
  get size(): number {
    return this.pending.size;
  }

  /** Entries the heap holds, cancelled ones not yet dropped included (a bound tests check). */
  get held(): number {
    return this.heap.size;
  }

  /** `expire` runs once `at` (ms, on the timers' clock) has passed, unless cancelled first (cancel is idempotent, and harmless after). */
  add(at: number, expire: () => void): Timer {
    const entry: Entry = { at, seq: this.seq++, expire, done: false };
    this.heap.push(entry);
    this.pending.add(entry);
    this.arm();
    return {
      cancel: () => {
        if (entry.done) return;
        entry.done = true;
        this.pending.delete(entry);
        if (this.pending.size === 0) this.stop();
        else if (this.heap.size > 2 * this.pending.size + SLACK) this.heap.reset(this.pending);
      },
    };
  }

  /** Every pending deadline is dropped without expiring; the timer stops. */
  clear(): void {
    for (const entry of this.pending) entry.done = true;
    this.pending.clear();
    this.stop();
  }

  private stop(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
    this.armedFor = Infinity;
    this.heap.reset([]);
  }

  /** Arms the timer for the earliest pending deadline, if it is not armed for it or sooner. */
  private arm(): void {
    let top = this.heap.peek();
    while (top !== undefined && top.done) {
      this.heap.pop();
      top = this.heap.peek();
    }
    if (top === undefined || top.at >= this.armedFor) return;
    if (this.handle !== null) this.timers.clear(this.handle);
    this.armedFor = top.at;
    this.handle = this.timers.set(() => this.fire(), Math.max(0, top.at - this.timers.now()));
  }

  private fire(): void {
    this.handle = null;
    this.armedFor = Infinity;
    const now = this.timers.now();
    for (let top = this.heap.peek(); top !== undefined && (top.done || top.at <= now); top = this.heap.peek()) {
      this.heap.pop();
      if (top.done) continue;
      top.done = true;
      this.pending.delete(top);
      top.expire();
    }
    this.arm();
  }
}
