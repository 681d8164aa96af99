/**
 * Requests waiting on the log: proposals wait for their index to be applied, reads for their
 * read index. Each carries its own deadline so a lost request fails instead of hanging.
 */
import type { Scheduler, Timer } from '../util/clock.js';
import { HostError } from '../api/consensus-port.js';

/** Who hears a request's outcome: a Promise's resolve and reject, or the simulation's callbacks. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

export class WaitMap<K, T, Meta = undefined> {
  private readonly waiters = new Map<K, { waiter: Waiter<T>; timer: Timer; meta: Meta }>();

  /**
   * `onTimeout`: what a timed-out request's caller should know. A proposal's outcome is unknown
   * (it may still commit); a read that timed out changed nothing and can simply be asked again.
   */
  constructor(
    private readonly scheduler: Scheduler,
    private readonly onTimeout: string,
  ) {}

  add(key: K, meta: Meta, timeoutMs: number, what: string, waiter: Waiter<T>): void {
    const timer = this.scheduler.after(timeoutMs, () => {
      if (this.waiters.get(key)?.waiter !== waiter) return;
      this.waiters.delete(key);
      waiter.reject(new HostError('TIMEOUT', `${what} did not complete within ${timeoutMs}ms; ${this.onTimeout}`));
    });
    this.waiters.set(key, { waiter, timer, meta });
  }

  get(key: K): Meta | undefined {
    return this.waiters.get(key)?.meta;
  }

  resolve(key: K, value: T): boolean {
    const w = this.waiters.get(key);
    if (!w) return false;
    this.waiters.delete(key);
    w.timer.cancel();
    w.waiter.resolve(value);
    return true;
  }

  reject(key: K, err: Error): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    w.timer.cancel();
    w.waiter.reject(err);
  }

  rejectAll(err: Error): void {
    for (const key of [...this.waiters.keys()]) this.reject(key, err);
  }

  entries(): Array<[K, Meta]> {
    return [...this.waiters].map(([k, w]) => [k, w.meta]);
  }

  get size(): number {
    return this.waiters.size;
  }
}
