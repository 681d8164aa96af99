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
 * is read while the counts are under their budgets, so they pass them by one value at most (and
 * by the errors of requests failed meanwhile, counted when they fail: a few hundred bytes each);
 * the Gets in progress stop the session taking requests at the budgets too, so they pass them by
 * one Get's state at most. No deadlock: what a waiting Get waits for (answers HTTP/2 has not
 * taken, and writes in progress) is given back as the client reads and as writes end, whatever
 * the Gets do; other Gets in progress never keep it from reading.
 * Answers go in the order they complete, so an earlier Get waiting holds up no later answer.
 */
import type { ReadRoom } from './kv-ops.js';
import type { AnswerBudgetOptions, SessionAnswers } from './kv-session-answers.js';
import { ServiceFailure } from './service-error.js';

interface WaitingRead {
  /** Reads the value and counts it. */
  readonly run: () => void;
  readonly fail: (err: ServiceFailure) => void;
}

function sessionEnded(): ServiceFailure {
  return new ServiceFailure('INTERNAL', 'the KvSession ended before the Get read its value');
}

export class WaitingReads {
  private readonly queue: WaitingRead[] = [];
  /** The session ended: a Get whose read barrier ends after it must not wait here for its deadline. */
  private ended = false;

  constructor(
    private readonly answers: SessionAnswers,
    private readonly budgets: AnswerBudgetOptions,
    /** A Get started to wait: the session asks its client's other sessions to wake it as they give bytes back. */
    private readonly onWait: () => void,
  ) {}

  /** Gets waiting for room now. */
  get length(): number {
    return this.queue.length;
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
        if (this.queue.length === 0 && !this.answers.readFull) {
          run();
          return;
        }
        const waitedFrom = Date.now();
        const timer = setTimeout(() => {
          const at = this.queue.indexOf(waiting);
          if (at >= 0) this.queue.splice(at, 1);
          reject(new ServiceFailure('TIMEOUT', `the Get waited ${Date.now() - waitedFrom}ms for room to read its value, until its deadline: ${this.held()}`));
        }, Math.max(0, deadline - Date.now()));
        const waiting: WaitingRead = {
          run: () => {
            clearTimeout(timer);
            run();
          },
          fail: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        this.queue.push(waiting);
        this.onWait();
      });
  }

  /** What holds the budgets, for a Get that waited out its deadline. */
  private held(): string {
    const { sessionBytes, clientBytes } = this.budgets;
    return this.answers.clientReadFull
      ? `this client's KvSessions on this controller hold their budget of ${clientBytes} bytes of answers not yet read`
      : `its KvSession holds its budget of ${sessionBytes} bytes of answers not yet read`;
  }

  /** Reads the values of waiting Gets, oldest first, while the budgets have room. */
  serve(): void {
    while (this.queue.length > 0 && !this.answers.readFull) this.queue.shift()!.run();
  }

  /** The session ended: its waiting Gets fail (their answers go nowhere), their timers stopped, and so do those that come after. */
  drop(): void {
    this.ended = true;
    for (const waiting of this.queue.splice(0)) waiting.fail(sessionEnded());
  }
}
