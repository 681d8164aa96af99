/**
 * The Audit stream's server side against a client that does not read: the replay waits for
 * gRPC's buffer to drain, and a follower that falls MAX_FOLLOW_BACKLOG events behind is ended
 * (RESOURCE_EXHAUSTED) instead of costing the controller memory without bound.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { MAX_FOLLOW_BACKLOG, MAX_FOLLOW_BACKLOG_BYTES, REPLAY_PAGE, auditLimits, serveAudit, sinceOf, type AuditSource } from '../../src/api/audit-handler.js';
import { auditFollowLimits } from '../../src/api/audit-follows.js';
import { auditListingLimits } from '../../src/api/audit-listings.js';
import type { AuditDroppedMsg, AuditEventMsg, AuditRequestMsg } from '../../src/api/wire-types.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * A server stream whose client reads only when told to: write() says false once `room` writes
 * are buffered, and a write's callback (gRPC's: the message was handed on) comes while it is
 * within `room`, else when the client reads. As grpc-js's, an 'error' event is the status it ends with.
 */
class SlowCall extends EventEmitter {
  readonly written: AuditEventMsg[] = [];
  cancelled = false;
  destroyed = false;
  writableEnded = false;
  ended = false;
  error: { code?: number; details?: string } | null = null;
  private buffered = 0;
  private readonly waiting: (() => void)[] = [];
  /** What cutOff's reset looks the stream up by; a fake has none, so it is destroyed only. */
  readonly metadata = {};

  constructor(
    readonly request: AuditRequestMsg,
    private readonly room: number,
    private readonly peer = 'ipv4:127.0.0.1:40000',
  ) {
    super();
    this.on('error', (err: { code?: number; details?: string }) => {
      this.error = err;
      this.end();
    });
  }

  getPeer(): string {
    return this.peer;
  }

  getAuthContext(): null {
    return null;
  }

  write(e: AuditEventMsg, done?: (err?: Error | null) => void): boolean {
    this.written.push(e);
    this.buffered++;
    if (done !== undefined) {
      if (this.buffered <= this.room) queueMicrotask(() => done(null));
      else this.waiting.push(() => done(null));
    }
    return this.buffered < this.room;
  }

  /** The client reads everything buffered. */
  read(): void {
    this.buffered = 0;
    for (const done of this.waiting.splice(0)) done();
    this.emit('drain');
  }

  end(): void {
    this.ended = true;
    this.writableEnded = true;
  }

  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const event = (i: number): AuditEventMsg => ({ time: new Date(i).toISOString(), node: 'c1', type: 'member.status', subject: `c${i}`, from: 'online', to: 'offline', reason: '' });

type FakeSource = AuditSource & { emit: (e: AuditEventMsg) => void; drop: (d: AuditDroppedMsg) => void; followers: () => number; pages: number[] };

/**
 * An audit store in memory: events keyed by their position; `emit` appends one, as the store
 * does, and tells the followers; `drop` records a loss, as the controller does when a write fails.
 */
function source(initial: readonly AuditEventMsg[]): FakeSource {
  const stored = [...initial];
  const keyOf = (i: number): string => String(i).padStart(10, '0');
  const listeners = new Set<(e: AuditEventMsg, key: string) => void>();
  const dropListeners = new Set<(d: AuditDroppedMsg) => void>();
  let dropped: AuditDroppedMsg | null = null;
  const pages: number[] = [];
  return {
    page: (_since, after, limit, until) => {
      const from = after === null ? 0 : Number(after) + 1;
      const events = stored.slice(from, Math.min(from + limit, until === null ? Infinity : Number(until) + 1));
      pages.push(events.length);
      return Promise.resolve({ events, last: events.length === 0 ? null : keyOf(from + events.length - 1) });
    },
    end: () => Promise.resolve(stored.length === 0 ? null : keyOf(stored.length - 1)),
    follow: (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    emit: (e) => {
      stored.push(e);
      for (const l of listeners) l(e, keyOf(stored.length - 1));
    },
    dropped: () => dropped,
    followDropped: (l) => {
      dropListeners.add(l);
      return () => void dropListeners.delete(l);
    },
    drop: (d) => {
      dropped = d;
      for (const l of dropListeners) l(d);
    },
    followers: () => listeners.size + dropListeners.size,
    pages,
  };
}

void t.test('the replay writes no further than the client reads', async (t) => {
  const history = Array.from({ length: 100 }, (_, i) => event(i));
  const call = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 10);
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
  const call = new SlowCall({ sinceMs: 0, follow: true, notes: false }, 5);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 1, 'the replay', 2000);
  for (let i = 1; i <= MAX_FOLLOW_BACKLOG + 10 && call.error === null; i++) src.emit(event(i));
  t.ok(call.writableEnded, 'ended');
  t.match(call.error, { code: 8, details: /the audit follower is \d+ events behind \(at most 1000 events, 262144 bytes\): it does not read/ }, 'RESOURCE_EXHAUSTED, saying why');
  t.equal(src.followers(), 0, 'no longer subscribed');
  t.ok(call.written.length <= 10, `only what fit the client's buffer was written (${call.written.length})`);
});

void t.test('a follower that reads gets every event, the replay first', async (t) => {
  const src = source([event(0), event(1)]);
  const call = new SlowCall({ sinceMs: 0, follow: true, notes: false }, 1_000_000);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 2, 'the replay', 2000);
  for (let i = 2; i < 50; i++) src.emit(event(i));
  await waitFor(() => call.written.length === 50, 'the followed events', 2000);
  t.same(call.written.map((e) => e.subject), Array.from({ length: 50 }, (_, i) => `c${i}`));
  call.emit('cancelled');
  t.equal(src.followers(), 0, 'a cancelled follower unsubscribes');
});

void t.test(`the replay reads the store ${REPLAY_PAGE} events at a time, and what is appended meanwhile comes once`, async (t) => {
  const src = source(Array.from({ length: 3 * REPLAY_PAGE + 10 }, (_, i) => event(i)));
  const call = new SlowCall({ sinceMs: 0, follow: true, notes: false }, 50);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 50, 'the first fifty written', 2000);
  t.same(src.pages, [REPLAY_PAGE], 'one page read while the client does not read');
  // Appended during the replay: the pages reach it, and the follow queue must not send it again.
  src.emit(event(5000));
  while (call.written.length < 3 * REPLAY_PAGE + 11) {
    call.read();
    await new Promise((r) => setImmediate(r));
  }
  src.emit(event(5001));
  await waitFor(() => call.written.length === 3 * REPLAY_PAGE + 12, 'the event appended after the replay', 2000);
  call.read();
  await new Promise((r) => setImmediate(r));
  const subjects = call.written.map((e) => e.subject);
  t.equal(subjects.filter((s) => s === 'c5000').length, 1, 'the event appended during the replay, once');
  t.same(subjects.slice(-2), ['c5000', 'c5001'], 'in order, after the replay');
  t.ok(src.pages.every((n) => n <= REPLAY_PAGE), `pages of at most ${REPLAY_PAGE}: ${src.pages.join(', ')}`);
  call.emit('cancelled');
});

void t.test('a listing ends where the trail ended when it asked, however fast the trail grows meanwhile', async (t) => {
  const src = source(Array.from({ length: 2 * REPLAY_PAGE }, (_, i) => event(i)));
  const call = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 10);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  // Each time the client reads, more is appended than it read.
  for (let round = 0; !call.ended && round < 10_000; round++) {
    for (let i = 0; i < 20; i++) src.emit(event(100_000 + round * 20 + i));
    call.read();
    await new Promise((r) => setImmediate(r));
  }
  t.ok(call.ended, 'the listing ended');
  t.equal(call.written.length, 2 * REPLAY_PAGE, 'exactly the events stored when it began');
  t.same(call.written.at(-1)?.subject, `c${2 * REPLAY_PAGE - 1}`);
});

void t.test('a listing of an empty trail ends at once', async (t) => {
  const call = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 10);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source([]));
  await waitFor(() => call.ended, 'the end', 2000);
  t.same(call.written, []);
});

const lost = (count: number, last: string): AuditDroppedMsg => ({ node: 'c3', count, first: '1970-01-01T00:00:00.010Z', last, cause: 'IO error: Operation not permitted' });

void t.test('round 6\'s F5: a client that asks for notes learns first that the trail lacks events; one that does not, never', async (t) => {
  const src = source([event(20), event(30)]);
  src.drop(lost(3, '1970-01-01T00:00:00.025Z'));
  const asking = new SlowCall({ sinceMs: 0, follow: false, notes: true }, 100);
  serveAudit(asking as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => asking.ended, 'the end', 2000);
  t.same(asking.written[0], { time: '', node: '', type: '', subject: '', from: '', to: '', reason: '', dropped: lost(3, '1970-01-01T00:00:00.025Z') }, 'a note: nothing but dropped');
  t.same(asking.written.slice(1).map((e) => e.subject), ['c20', 'c30'], 'then the events');

  const older = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 100);
  serveAudit(older as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => older.ended, 'the end', 2000);
  t.ok(older.written.every((e) => e.dropped === undefined), 'an older client gets events only');

  const later = new SlowCall({ sinceMs: 26, follow: false, notes: true }, 100);
  serveAudit(later as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => later.ended, 'the end', 2000);
  t.ok(later.written.every((e) => e.dropped === undefined), 'losses before --since are not in what was asked: no note');
});

void t.test('round 6\'s F5: a follower asking for notes gets one at each loss, in line with the events', async (t) => {
  const src = source([event(0)]);
  const call = new SlowCall({ sinceMs: 0, follow: true, notes: true }, 1_000_000);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 1, 'the replay', 2000);
  t.equal(call.written[0]?.dropped, undefined, 'no note while nothing was lost');
  src.drop(lost(1, '1970-01-01T00:00:00.010Z'));
  src.emit(event(11));
  src.drop(lost(2, '1970-01-01T00:00:00.012Z'));
  await waitFor(() => call.written.length === 4, 'two notes and an event', 2000);
  t.same(call.written.slice(1).map((e) => e.dropped?.count ?? e.subject), [1, 'c11', 2]);
  call.emit('cancelled');
  t.equal(src.followers(), 0, 'a cancelled follower unsubscribes from both');
});

/** An event whose reason is `bytes` long: the size a follower's queue and the budget count. */
const bigEvent = (i: number, bytes: number): AuditEventMsg => ({ ...event(i), reason: 'r'.repeat(bytes) });

void t.test(`attack-34 H10: a follower whose queued events reach ${MAX_FOLLOW_BACKLOG_BYTES} bytes is ended, however few they are`, async (t) => {
  const src = source([event(0)]);
  const call = new SlowCall({ sinceMs: 0, follow: true, notes: false }, 1);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src);
  await waitFor(() => call.written.length === 1, 'the replay', 2000);
  let sent = 0;
  for (; sent < MAX_FOLLOW_BACKLOG && call.error === null; sent++) src.emit(bigEvent(sent + 1, 16 * 1024));
  t.ok(sent < 20, `ended after ${sent} events of 16 KiB, not ${MAX_FOLLOW_BACKLOG}`);
  t.match(call.error, { code: 8, details: /the audit follower is \d+ bytes of events behind \(at most 1000 events, 262144 bytes\): it does not read; follow again with --since/ });
  t.equal(src.followers(), 0, 'no longer subscribed');
});

void t.test('attack-34 H10: followers share a budget of unread bytes; at it, the one unread longest is cut off', async (t) => {
  const follows = auditFollowLimits({ budgetBytes: 24 * 1024 });
  const src = source([]);
  // Neither reads: a write's callback never comes, so its event stays held.
  const first = new SlowCall({ sinceMs: 0, follow: true, notes: false }, 0, 'ipv4:127.0.0.1:40001');
  const second = new SlowCall({ sinceMs: 0, follow: true, notes: false }, 0, 'ipv4:127.0.0.1:40002');
  serveAudit(first as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src, auditLimits({ follows }));
  serveAudit(second as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, src, auditLimits({ follows }));
  await waitFor(() => src.followers() === 2 && first.listenerCount('drain') === 0, 'both to follow', 2000);
  // The first is granted room for its copy; the second's does not fit beside it, and the first's is held longer.
  src.emit(bigEvent(1, 16 * 1024));
  await waitFor(() => first.destroyed, 'the first, unread longest, to be cut off', 2000);
  t.same(first.written, [], 'the first, granted room first, was cut before it wrote: it let go of the room');
  t.equal(follows.open, 1, 'the cut-off follow is let go');
  t.ok(follows.undrained <= 24 * 1024, `undrained within the budget (${follows.undrained})`);
  await waitFor(() => second.written.length === 1, "the second's write, once the first's bytes are let go", 2000);
  t.same(second.written.map((e) => e.subject), ['c1'], 'the second goes on');
  second.emit('cancelled');
  t.equal(follows.open, 0);
  t.equal(src.followers(), 0);
});

void t.test('a listing whose client reads nothing is cut off after the stall time, and its place given back', async (t) => {
  const listings = auditListingLimits();
  const history = Array.from({ length: 50 }, (_, i) => event(i));
  const call = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 10);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source(history), auditLimits({ listings, replayStallMs: 200 }));
  await waitFor(() => call.written.length === 10, 'what fits the buffer written', 2000);
  t.equal(listings.open, 1, 'the listing holds a place');
  await waitFor(() => call.destroyed, 'the unread listing to be cut off', 5000);
  t.equal(call.written.length, 10, 'nothing more written');
  t.equal(listings.open, 0, 'its place given back');
});

void t.test('a listing that reads is not cut off by the stall time, however long it runs', async (t) => {
  const listings = auditListingLimits();
  const history = Array.from({ length: 40 }, (_, i) => event(i));
  const call = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 10);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source(history), auditLimits({ listings, replayStallMs: 150 }));
  for (let round = 0; !call.ended; round++) {
    if (round > 200) t.fail('the listing never ended');
    await new Promise((r) => setTimeout(r, 50));
    call.read();
    await new Promise((r) => setImmediate(r));
  }
  t.notOk(call.destroyed, 'ended, not cut off');
  t.equal(call.written.length, 40, 'every event');
  t.equal(listings.open, 0, 'its place given back at the end');
});

void t.test('listings past a client\'s cap are refused RESOURCE_EXHAUSTED, naming the cap; another client is served', async (t) => {
  const listings = auditListingLimits({ maxPerClient: 2, maxTotal: 3 });
  const history = Array.from({ length: 30 }, (_, i) => event(i));
  const limits = auditLimits({ listings });
  const mine = [0, 1, 2].map(() => new SlowCall({ sinceMs: 0, follow: false, notes: false }, 5, 'ipv4:127.0.0.1:40001'));
  for (const c of mine) serveAudit(c as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source(history), limits);
  t.equal(listings.open, 2);
  t.match(mine[2]!.error, { code: 8, details: /^connection ipv4:127\.0\.0\.1:40001 has 2 audit listings open on this controller, the most one client may \(2\); let one finish/ });
  t.same(mine[2]!.written, [], 'nothing listed to the refused one');
  const other = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 5, 'ipv4:127.0.0.1:40002');
  serveAudit(other as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source(history), limits);
  const past = new SlowCall({ sinceMs: 0, follow: false, notes: false }, 5, 'ipv4:127.0.0.1:40003');
  serveAudit(past as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, source(history), limits);
  t.match(past.error, { code: 8, details: /^this controller serves 3 audit listings, the most it serves at once \(3\); .*list through another controller/ });
  mine[0]!.emit('cancelled');
  t.equal(listings.open, 2, 'a cancelled listing gives its place back');
  for (const c of [mine[1]!, other]) c.emit('cancelled');
  t.equal(listings.open, 0);
});

// attack-operator round 16: `ctl audit --since 5m` from a laptop whose clock is 10 minutes ahead
// asked for events after a time the controller had not reached, and listed none.
void t.test('--since counts back from the trail clock when the client says how long ago, whatever its own clock', async (t) => {
  const MIN = 60_000;
  const stored = Array.from({ length: 10 }, (_, i) => event(i * MIN));
  const filtered: AuditSource = {
    ...source([]),
    page: (since, after, limit) => {
      const from = after === null ? 0 : Number(after) + 1;
      const events = stored.slice(from).filter((e) => Date.parse(e.time) >= since).slice(0, limit);
      const last = events.length === 0 ? null : String(stored.indexOf(events.at(-1)!));
      return Promise.resolve({ events, last });
    },
    end: () => Promise.resolve(String(stored.length - 1)),
    now: () => 10 * MIN,
  };
  const clientNow = 20 * MIN; // ten minutes ahead
  const call = new SlowCall({ sinceMs: clientNow - 5 * MIN, follow: false, notes: false, sinceAgoMs: 5 * MIN }, 100);
  serveAudit(call as unknown as grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, filtered);
  await waitFor(() => call.ended, 'the listing to end', 2000);
  t.same(call.written.map((e) => e.subject), ['c300000', 'c360000', 'c420000', 'c480000', 'c540000'], 'the last five minutes by the trail clock');

  t.equal(sinceOf({ sinceMs: 123 }, () => 10 * MIN), 123, 'an older client: its sinceMs');
  t.equal(sinceOf({ sinceMs: 123, sinceAgoMs: 0 }, () => 10 * MIN), 123, 'no --since: its sinceMs (0, all)');
  t.equal(sinceOf({ sinceMs: 123, sinceAgoMs: 60 * MIN }, () => 10 * MIN), 1, 'further back than the epoch: from the start');
});
