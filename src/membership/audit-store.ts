/**
 * The audit log of one controller: a LevelDB at `<dataDir>/audit`, one JSON event per key.
 *
 * Keys are `<ms, 15 digits>.<seq, 12 digits>`: time first, so `query({ sinceMs })` is a range
 * scan, and a sequence so events within one millisecond keep their order. The time part never
 * goes backwards (a wall-clock step back reuses the last time) and the sequence resumes from
 * the newest stored key, so keys increase across restarts too.
 *
 * Retention (max events, max age) is enforced on append: each append deletes at most
 * `pruneBatch` of the oldest events in the same LevelDB batch, so one append never stalls on a
 * large backlog and the log converges to its bounds. Writes are not fsynced: a crash may lose
 * the last few events, never corrupt older ones.
 *
 * Age is measured on the store's own clock (src/util/stamp-clock.ts): the wall clock, unless it
 * has run ahead of the monotonic time elapsed since the store opened (a `date -s` typo, a bad
 * step), when the monotonic estimate is used instead. One wall-clock reading 8 days ahead would
 * otherwise delete every event younger than that. The same clock caps an event's key time, so
 * an event stamped during such a step (its `time` says what the wall clock said) sorts where it
 * happened, not days ahead of every later event.
 *
 * Marks (`~mark/<name>` keys, outside the events' range) say what was recorded: an append may
 * carry some, written in the same batch as its event, so that a process that replays its Raft
 * log after a restart can tell which events it already recorded (`mark(name)`).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { StampClock } from '../util/stamp-clock.js';
import { parseAuditEvent, eventTimeMs, type AuditEvent } from './audit.js';
import { AuditEventError, MembershipError } from './errors.js';
import { StorageLostCurrentError } from '../storage/errors.js';
import { lostCurrentProblem } from '../storage/lost-current.js';
import { auditOpenError } from '../storage/level-errors.js';

export interface AuditStoreOptions {
  /** Default 100000. */
  readonly maxEvents?: number;
  /** Default 7 days. */
  readonly maxAgeMs?: number;
  /** Most old events deleted per append; default 64. */
  readonly pruneBatch?: number;
  /** Wall clock (ms since the epoch) for age-based retention; default Date.now. */
  readonly now?: () => number;
  /** Monotonic clock (ms) that bounds `now` when it steps ahead; default performance.now. */
  readonly mono?: () => number;
  /**
   * The wall clock is this far ahead of the time measured since the store opened, so retention
   * and new keys follow the monotonic estimate; called once per such episode (at the first
   * append that sees it, again only after an append has seen the clocks agree).
   */
  readonly onClockAhead?: (aheadMs: number) => void;
  /** A follower's listener threw; default: ignored, so one bad listener cannot block appends. */
  readonly onListenerError?: (err: unknown) => void;
}

export interface AuditQuery {
  /** Events at or after this wall-clock time (ms since the epoch). */
  readonly sinceMs?: number;
  /** At most this many, the oldest first. */
  readonly limit?: number;
}

/** `key` orders events: a later event has a greater key (see page). */
export type AuditListener = (event: AuditEvent, key: string) => void;

/** One page of events, the oldest first, and the key of its last (null when empty). */
export interface AuditPage {
  readonly events: readonly AuditEvent[];
  readonly last: string | null;
}

const MS_DIGITS = 15;
/** The latest time a key can hold: a later (or non-finite) `sinceMs` is taken as this. */
const MAX_KEY_MS = 10 ** MS_DIGITS - 1;
const SEQ_DIGITS = 12;
const keyOf = (ms: number, seq: number): string =>
  `${String(ms).padStart(MS_DIGITS, '0')}.${String(seq).padStart(SEQ_DIGITS, '0')}`;
const msOfKey = (key: string): number => Number(key.slice(0, MS_DIGITS));
/** Event keys start with a digit: this range holds them and nothing else. */
const EVENTS = { gte: '0', lt: ':' } as const;
const MARK_PREFIX = '~mark/';
const MARKS = { gte: MARK_PREFIX, lt: '~mark0' } as const;
const seqOfKey = (key: string): number => Number(key.slice(MS_DIGITS + 1));
/** How far the wall clock may run ahead of the monotonic estimate before it is not believed (as for mesh stamps). */
const CLOCK_TOLERANCE_MS = 5_000;

type AuditDb = Level<string, string>;

export class AuditStore {
  private tail: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<AuditListener>();
  private closed = false;
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly pruneBatch: number;
  /** The store's time: the wall clock bounded by monotonic progress since the store opened. */
  private readonly clock: StampClock;
  private clockAhead = false;

  private constructor(
    readonly dir: string,
    private readonly db: AuditDb,
    private count: number,
    private oldestMs: number | null,
    private lastMs: number,
    private lastSeq: number,
    private readonly marks: Map<string, string>,
    private readonly options: AuditStoreOptions,
  ) {
    this.maxEvents = options.maxEvents ?? 100_000;
    this.maxAgeMs = options.maxAgeMs ?? 7 * 24 * 60 * 60 * 1_000;
    this.pruneBatch = options.pruneBatch ?? 64;
    this.clock = new StampClock({ wall: options.now ?? Date.now, mono: options.mono ?? (() => performance.now()), toleranceMs: CLOCK_TOLERANCE_MS });
    this.clock.stamp(); // anchored at open: a step after it is measured against the monotonic clock
    for (const [name, v] of [['maxEvents', this.maxEvents], ['maxAgeMs', this.maxAgeMs], ['pruneBatch', this.pruneBatch]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) {
        throw new MembershipError('INVALID_CONFIG', `audit store ${name}: expected a positive integer, found ${String(v)}`);
      }
    }
  }

  /** Opens (creating if needed) the store at `<dataDir>/audit`. */
  static async open(dataDir: string, options: AuditStoreOptions = {}): Promise<AuditStore> {
    const dir = join(dataDir, 'audit');
    // LevelDB would delete the trail's tables along with a lost CURRENT (lost-current.ts).
    const lostCurrent = lostCurrentProblem(dir);
    if (lostCurrent !== null) throw new StorageLostCurrentError(dir, lostCurrent, `move ${dir} aside: the controller starts a new, empty audit trail`);
    const db: AuditDb = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await mkdir(dir, { recursive: true });
      await db.open();
    } catch (err) {
      throw auditOpenError(dir, err);
    }
    try {
      let count = 0;
      let oldest: string | null = null;
      for await (const key of db.keys(EVENTS)) {
        oldest ??= key;
        count++;
      }
      const newest = (await db.keys({ ...EVENTS, reverse: true, limit: 1 }).all())[0];
      const marks = new Map<string, string>();
      for await (const [key, value] of db.iterator(MARKS)) marks.set(key.slice(MARK_PREFIX.length), value);
      const store = new AuditStore(
        dir,
        db,
        count,
        oldest === null ? null : msOfKey(oldest),
        newest === undefined ? 0 : msOfKey(newest),
        newest === undefined ? 0 : seqOfKey(newest),
        marks,
        options,
      );
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Events currently stored. */
  size(): number {
    return this.count;
  }

  /** The value last stored under mark `name` (see append); undefined: none. */
  mark(name: string): string | undefined {
    return this.marks.get(name);
  }

  /**
   * Stores `event` (validated) and `marks` in one batch, prunes a batch of expired events, then
   * tells the followers. The marks are visible to `mark` at once, before the write completes.
   */
  append(event: AuditEvent, marks: Readonly<Record<string, string>> = {}): Promise<void> {
    if (this.closed) return Promise.reject(new MembershipError('AUDIT_STORE_CLOSED', `audit store ${this.dir}: expected an open store, found it closed`));
    let valid: AuditEvent;
    try {
      valid = parseAuditEvent(event);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new AuditEventError(String(err)));
    }
    for (const [name, value] of Object.entries(marks)) this.marks.set(name, value);
    const run = this.tail.then(() => this.write(valid, marks));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async query(q: AuditQuery = {}): Promise<readonly AuditEvent[]> {
    return (await this.page({ sinceMs: q.sinceMs ?? 0, after: null, limit: q.limit ?? null })).events;
  }

  /**
   * Events at or after `sinceMs` and after key `after` (a page's `last`), at most `limit`, and
   * at or before key `until` when given: a reader that pages holds one page, not the whole log
   * (an unread stream of every retained event held 25 MB and more each).
   */
  async page(q: { readonly sinceMs: number; readonly after: string | null; readonly limit: number | null; readonly until?: string | null }): Promise<AuditPage> {
    if (this.closed) throw new MembershipError('AUDIT_STORE_CLOSED', `audit store ${this.dir}: expected an open store, found it closed`);
    await this.tail; // read your writes: every event appended before the query is in it
    // Clamped to what a key can hold: String(1e21) is "1e+21", and "Infinity" or "NaN" padded to
    // 15 characters start with zeros, so each sorted before every key and read the whole trail.
    const since = Number.isNaN(q.sinceMs) ? MAX_KEY_MS : Math.min(MAX_KEY_MS, Math.max(0, Math.floor(q.sinceMs)));
    const out: AuditEvent[] = [];
    let last: string | null = null;
    // A page's last key is at or after sinceMs: the next starts right after it.
    const from = q.after === null ? { gte: keyOf(since, 0) } : { gt: q.after };
    const to = q.until === undefined || q.until === null ? { lt: EVENTS.lt } : { lte: q.until };
    const entries = this.db.iterator({ ...from, ...to, ...(q.limit === null ? {} : { limit: q.limit }) });
    for await (const [key, value] of entries) {
      last = key;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (cause) {
        throw new AuditEventError(`audit store ${this.dir}: key ${key}: expected JSON, found unparsable text`, { cause });
      }
      out.push(parseAuditEvent(parsed));
    }
    return { events: out, last };
  }

  /** The key of the newest event once every append before the call is written; null when none is stored. */
  async newestKey(): Promise<string | null> {
    await this.tail;
    return this.count === 0 ? null : keyOf(this.lastMs, this.lastSeq);
  }

  /** Calls `listener` with every event appended from now on; returns the unsubscribe function. */
  follow(listener: AuditListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Waits for pending appends, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.tail;
    await this.db.close();
  }

  /** The time this trail stamps an event written now (ms since the epoch; stamp-clock.ts). */
  now(): number {
    return this.clock.stamp().at;
  }

  private async write(event: AuditEvent, marks: Readonly<Record<string, string>>): Promise<void> {
    const now = this.clock.stamp();
    this.noteClockAhead(now.aheadMs);
    const ms = Math.max(this.lastMs, Math.min(eventTimeMs(event), now.at));
    const seq = this.lastSeq + 1;
    const key = keyOf(ms, seq);

    const cutoff = now.at - this.maxAgeMs;
    const excess = this.count + 1 - this.maxEvents;
    const dels: string[] = [];
    if (excess > 0 || (this.oldestMs !== null && this.oldestMs < cutoff)) {
      for await (const old of this.db.keys({ ...EVENTS, limit: this.pruneBatch })) {
        if (dels.length < excess || msOfKey(old) < cutoff) dels.push(old);
        else break;
      }
    }
    await this.db.batch([
      { type: 'put', key, value: JSON.stringify(event) },
      ...Object.entries(marks).map(([name, value]) => ({ type: 'put' as const, key: `${MARK_PREFIX}${name}`, value })),
      ...dels.map((k) => ({ type: 'del' as const, key: k })),
    ]);
    this.lastMs = ms;
    this.lastSeq = seq;
    this.count += 1 - dels.length;
    if (dels.length > 0 || this.oldestMs === null) {
      const first = (await this.db.keys({ ...EVENTS, limit: 1 }).all())[0];
      this.oldestMs = first === undefined ? null : msOfKey(first);
    }

    for (const l of this.listeners) {
      try {
        l(event, key);
      } catch (err) {
        this.options.onListenerError?.(err);
      }
    }
  }

  private noteClockAhead(aheadMs: number): void {
    const ahead = aheadMs > 0;
    if (ahead && !this.clockAhead) this.options.onClockAhead?.(aheadMs);
    this.clockAhead = ahead;
  }
}
