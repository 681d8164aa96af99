/**
 * Requests waiting on the log: proposals wait for their index to be applied, reads for their
 * read index. Each carries its own deadline so a lost request fails instead of hanging.
 */
import { HostError } from '../api/consensus-port.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class WaitMap<K, T, Meta = undefined> {
  private readonly waiters = new Map<K, Waiter<T> & { meta: Meta }>();

  wait(key: K, meta: Meta, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new HostError('TIMEOUT', `${what} did not complete within ${timeoutMs}ms; its outcome is unknown`));
      }, timeoutMs);
      timer.unref();
      this.waiters.set(key, { resolve, reject, timer, meta });
    });
  }

  get(key: K): Meta | undefined {
    return this.waiters.get(key)?.meta;
  }

  resolve(key: K, value: T): boolean {
    const w = this.waiters.get(key);
    if (!w) return false;
    this.waiters.delete(key);
    clearTimeout(w.timer);
    w.resolve(value);
    return true;
  }

  reject(key: K, err: Error): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    clearTimeout(w.timer);
    w.reject(err);
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
