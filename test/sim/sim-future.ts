/**
 * A Completion (src/util/completion.ts) that the simulation completes from one of its events:
 * the callbacks run inside that event, synchronously, so what the driver does next happens at
 * the instant the seeded schedule chose for the I/O to finish.
 */
import type { Completion } from '../../src/util/completion.js';

type State<T> = { readonly kind: 'waiting' } | { readonly kind: 'done'; readonly value: T } | { readonly kind: 'failed'; readonly err: unknown };

export class SimFuture<T> implements Completion<T> {
  private state: State<T> = { kind: 'waiting' };
  private readonly callbacks: Array<{ onDone: (value: T) => void; onFailed: (err: unknown) => void }> = [];

  then(onDone: (value: T) => void, onFailed: (err: unknown) => void): void {
    switch (this.state.kind) {
      case 'waiting':
        this.callbacks.push({ onDone, onFailed });
        return;
      case 'done':
        onDone(this.state.value);
        return;
      case 'failed':
        onFailed(this.state.err);
        return;
    }
  }

  resolve(value: T): void {
    if (this.state.kind !== 'waiting') return;
    this.state = { kind: 'done', value };
    for (const c of this.callbacks.splice(0)) c.onDone(value);
  }

  reject(err: unknown): void {
    if (this.state.kind !== 'waiting') return;
    this.state = { kind: 'failed', err };
    for (const c of this.callbacks.splice(0)) c.onFailed(err);
  }
}
