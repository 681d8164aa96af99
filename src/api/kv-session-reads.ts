/**
 * A KvSession's Gets that wait for room to read their values. A Get counts only what it holds
 * in progress (a few KiB: its request, key and state) while it waits for its read barrier; it
 * reads its value once the answers its session and its client read hold less than their budgets
 * of answer bytes (kv-session-answers.ts), and counts the value from that turn. A Get that would
 * read while a budget is held waits here, oldest first, for bytes to be given back.
 * Counting each Get in progress as the largest value instead let a session have 64 Gets in
 * flight: 3,000 Gets of 20 ms each (a read barrier on a loaded leader) ran at ~2.9k/s on one
 * session, against ~8.4k/s without the budget.
 *
 * The budgets still bound what a client that never reads makes this controller hold: each value
 * is read while the counts are under their budgets, so they pass them by one value at most (a
 * request counts from its start what its answer may hold, an error's message included); the Gets in progress stop the session taking requests at the budgets too, so they pass them by
 * one Get's state at most. No deadlock: what a waiting Get waits for (answers HTTP/2 has not
 * taken, and writes in progress) is given back as the client reads and as writes end, whatever
 * the Gets do; other Gets in progress never keep it from reading.
 * Answers go in the order they complete, so an earlier Get waiting holds up no later answer.
 * The deadlines of a session's waiting Gets share one timer (deadline-timer.ts).
 */
import { DeadlineTimer, type DeadlineTimers } from './deadline-timer.js';
import type { ReadRoom } from './kv-ops.js';
import type { AnswerBudgetOptions, SessionAnswers } from './kv-session-answers.js';
import { ServiceFailure } from './service-error.js';

interface WaitingRead {
  /** Reads the value and counts it. */
  readonly run: () => void;
  readonly fail: (err: ServiceFailure) => void;
  /** It read, or failed: left in the queue until it reaches the front or the queue is compacted. */
  settled: boolean;
}

/** Settled Gets the queue may hold beside the waiting ones before it is compacted. */
const SLACK = 64;

function sessionEnded(): ServiceFailure {
  return new ServiceFailure('INTERNAL', 'the KvSession ended before the Get read its value');
}

export class WaitingReads {
  /** Oldest first; a Get past its deadline is settled in place (removing it was O(n) per Get). */
  private readonly queue: WaitingRead[] = [];
  private waiting = 0;
  private readonly deadlines: DeadlineTimer;
  /** The session ended: a Get whose read barrier ends after it must not wait here for its deadline. */
  private ended = false;

  constructor(
    private readonly answers: SessionAnswers,
    private readonly budgets: AnswerBudgetOptions,
    /** A Get started to wait: the session asks its client's other sessions to wake it as they give bytes back. */
    private readonly onWait: () => void,
    timers?: DeadlineTimers,
  ) {
    this.deadlines = new DeadlineTimer(timers);
  }

  /** Gets waiting for room now. */
  get length(): number {
    return this.waiting;
  }

  /** Entries the queue and its deadlines hold, settled ones not yet dropped included (a bound tests check). */
  get held(): { readonly queue: number; readonly deadlines: number } {
    return { queue: this.queue.length, deadlines: this.deadlines.held };
  }

  /**
   * The room of one Get: `counted(bytes)` is told what its value (with its answer's key and
   * fields, `answerBytes` of the read's size) added to the session's count, in the turn it read.
   */
  room(answerBytes: (valueBytes: number) => number, counted: (bytes: number) => void): ReadRoom {
    return (read, bytesOf, deadline) =>
      new Promise((resolve, reject) => {
        const run = (): void => {
          let value;
          try {
            value = read();
          } catch (err) {
            // The Get's failure, not its session's: the Gets waiting behind it still read.
            reject(err);
            return;
          }
          const bytes = answerBytes(bytesOf(value));
          this.answers.add(bytes);
          counted(bytes);
          resolve(value);
        };
        if (this.ended) {
          // Its session was cancelled during its read barrier: queued, it would wait out its
          // deadline (up to 5 minutes) whenever the client's other sessions hold its budget, a
          // session opened, sent 1,024 Gets and cancelled, again and again, piling them up.
          reject(sessionEnded());
          return;
        }
        if (this.waiting === 0 && !this.answers.readFull) {
          run();
          return;
        }
        const waitedFrom = Date.now();
        const timer = this.deadlines.add(deadline, () => {
          this.settle(waiting);
          reject(new ServiceFailure('TIMEOUT', `the Get waited ${Date.now() - waitedFrom}ms for room to read its value, until its deadline: ${this.heldBy()}`));
        });
        const waiting: WaitingRead = {
          run: () => {
            timer.cancel();
            run();
          },
          fail: (err) => {
            timer.cancel();
            reject(err);
          },
          settled: false,
        };
        this.queue.push(waiting);
        this.waiting += 1;
        this.onWait();
      });
  }

  /** A Get left the wait (read, failed or timed out); the queue is compacted once settled ones outnumber those waiting. */
  private settle(w: WaitingRead): void {
    w.settled = true;
    this.waiting -= 1;
    if (this.queue.length > 2 * this.waiting + SLACK) {
      const still = this.queue.filter((x) => !x.settled);
      this.queue.length = 0;
      this.queue.push(...still);
    }
  }

  /** The oldest Gets still waiting, taken off the queue one at a time. */
  private next(): WaitingRead | undefined {
    for (let w = this.queue.shift(); w !== undefined; w = this.queue.shift()) {
      if (w.settled) continue;
      this.settle(w);
      return w;
    }
    return undefined;
  }

  /** What holds the budgets, for a Get that waited out its deadline. */
  private heldBy(): string {
    const { sessionBytes, clientBytes } = this.budgets;
    return this.answers.clientReadFull
      ? `this client's KvSessions on this controller hold their budget of ${clientBytes} bytes of answers not yet read`
      : `its KvSession holds its budget of ${sessionBytes} bytes of answers not yet read`;
  }

  /** Reads the values of waiting Gets, oldest first, while the budgets have room. */
  serve(): void {
    while (this.waiting > 0 && !this.answers.readFull) this.next()!.run();
  }

  /** The session ended: its waiting Gets fail (their answers go nowhere), its timer stopped, and so do those that come after. */
  drop(): void {
    this.ended = true;
    for (let w = this.next(); w !== undefined; w = this.next()) w.fail(sessionEnded());
    this.deadlines.clear();
  }
}
