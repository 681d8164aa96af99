/**
 * The Audit stream's server side against a client that does not read: the replay waits for
 * gRPC's buffer to drain, and a follower that falls MAX_FOLLOW_BACKLOG events behind is ended
 * (RESOURCE_EXHAUSTED) instead of costing the controller memory without bound.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { MAX_FOLLOW_BACKLOG, serveAudit } from '../../src/api/audit-handler.js';
import type { AuditEventMsg, AuditRequestMsg } from '../../src/api/wire-types.js';
import { waitFor } from '../helpers/wait-for.js';

/** A server stream whose client reads only when told to: write() says false once `room` writes are buffered. */
class SlowCall extends EventEmitter {
  readonly written: AuditEventMsg[] = [];
  cancelled = false;
  destroyed = false;
  writableEnded = false;
  ended = false;
  error: { code?: number; details?: string } | null = null;
  private buffered = 0;

  constructor(
    readonly request: AuditRequestMsg,
    private readonly room: number,
  ) {
    super();
  }

  write(e: AuditEventMsg): boolean {
    this.written.push(e);
    this.buffered++;
    return this.buffered < this.room;
  }

  /** The client reads everything buffered. */
  read(): void {
    this.buffered = 0;
    this.emit('drain');
  }

  end(): void {
    this.ended = true;
    this.writableEnded = true;
  }

  destroy(err: { code?: number; details?: string }): void {
    this.error = err;
    this.destroyed = true;
  }
}

const event = (i: number): AuditEventMsg => ({ time: new Date(i).toISOString(), node: 'c1', type: 'member.status', subject: `c${i}`, from: 'online', to: 'offline', reason: '' });

function source(history: readonly AuditEventMsg[]): { query: (s: number) => Promise<readonly AuditEventMsg[]>; follow: (l: (e: AuditEventMsg) => void) => () => void; emit: (e: AuditEventMsg) => void; followers: () => number } {
  const listeners = new Set<(e: AuditEventMsg) => void>();
  return {
    query: () => Promise.resolve(history),
    follow: (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    emit: (e) => {
      for (const l of listeners) l(e);
    },
    followers: () => listeners.size,
  };
}

void t.test('the replay writes no further than the client reads', async (t) => {
  const history = Array.from({ length: 100 }, (_, i) => event(i));
  const call = new SlowCall({ sinceMs: 0, follow: false }, 10);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source(history));
  await waitFor(() => call.written.length === 10, 'the first ten written', 2000);
  await new Promise((r) => setImmediate(r));
  t.equal(call.written.length, 10, 'then it waits for the client');
  while (!call.ended) {
    call.read();
    await new Promise((r) => setImmediate(r));
  }
  t.same(call.written.map((e) => e.subject), history.map((e) => e.subject), 'all of it, in order, once read');
});

void t.test(`a follower that falls ${MAX_FOLLOW_BACKLOG} events behind is ended, and stops costing anything`, async (t) => {
  const src = source([event(0)]);
  const call = new SlowCall({ sinceMs: 0, follow: true }, 5);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 1, 'the replay', 2000);
  for (let i = 1; i <= MAX_FOLLOW_BACKLOG + 10 && !call.destroyed; i++) src.emit(event(i));
  t.ok(call.destroyed, 'ended');
  t.match(call.error, { code: 8, details: /the audit follower is \d+ events behind \(at most 1000\): it does not read/ }, 'RESOURCE_EXHAUSTED, saying why');
  t.equal(src.followers(), 0, 'no longer subscribed');
  t.ok(call.written.length <= 10, `only what fit the client's buffer was written (${call.written.length})`);
});

void t.test('a follower that reads gets every event, the replay first', async (t) => {
  const src = source([event(0), event(1)]);
  const call = new SlowCall({ sinceMs: 0, follow: true }, 1_000_000);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 2, 'the replay', 2000);
  for (let i = 2; i < 50; i++) src.emit(event(i));
  await waitFor(() => call.written.length === 50, 'the followed events', 2000);
  t.same(call.written.map((e) => e.subject), Array.from({ length: 50 }, (_, i) => `c${i}`));
  call.emit('cancelled');
  t.equal(src.followers(), 0, 'a cancelled follower unsubscribes');
});
