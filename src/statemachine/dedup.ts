/**
 * Exactly-once application of retried client requests (Raft thesis §6.3). Per client id the
 * table keeps the highest seq applied and its result; a retry of that seq gets the cached
 * result, an older seq is refused. The table is replicated state: it is in the snapshot, and
 * eviction depends only on the log (least recently applied first), never on time.
 *
 * Beside the result it keeps what the request was (request-print.ts), so that the same seq
 * sent with another request is refused, not answered with the first one's result. Records from
 * before (older snapshots, or written while the cluster version was below
 * REQUEST_PRINT_VERSION) have none and are answered as before.
 *
 * A client's record must not silently vanish (thesis §6.3, session expiry): once the table is
 * full it drops the least recently applied id for each new one, and a retry of a request whose
 * record was dropped would be applied a second time (attack 37 A2: 10,001 puts under fresh ids
 * took 5-8 s, then an acknowledged put was re-applied over a later write of another client).
 * So a request marked as a retry (`retry`: an earlier attempt's answer never came) whose id the
 * table does not know is refused as SESSION_EXPIRED, nothing applied, when the table is full:
 * the only state in which it can have dropped records, since it never shrinks otherwise. A
 * table not yet full has dropped nothing, so there an unknown id's earlier attempts were never
 * applied and the retry is applied as a first attempt. An honest new client is never refused:
 * its first attempt carries no mark. A retry of an id the table knows is judged by seq as before
 * (a recorded seq below the retry's means the retry's earlier attempts were not applied).
 * Every replica decides alike: the mark is in the entry, the table's size is replicated state.
 */
import type { ClientTag } from './command.js';
import { SnapshotError } from './errors.js';
import { Fields } from '../util/untrusted.js';
import { MAX_WHAT_CHARS, reuseProblem, type RequestPrint } from './request-print.js';
import { failure, type ApplyResult, type FailureCode } from './result.js';

export const DEFAULT_MAX_CLIENTS = 10_000;

interface ClientEntry {
  readonly seq: number;
  readonly result: ApplyResult;
  /** Raft index at which `seq` was applied; orders eviction. */
  readonly index: number;
  /** What the request was; null for records without one (see above). */
  readonly print: RequestPrint | null;
}

/** A print's hash, as read from a snapshot: hex. */
const PRINT_HASH = /^[0-9a-f]{1,64}$/;

const FAILURE_CODES: readonly FailureCode[] = ['CAS_FAILED', 'NOT_FOUND', 'STALE_REQUEST', 'INVALID', 'IGNORED', 'CONFLICT'];

export class ClientTable {
  /**
   * Insertion order is last-applied order: `record` re-inserts a client, and applies come in
   * increasing index order, so the first entry is always the one to evict, in O(1).
   */
  private readonly entries = new Map<string, ClientEntry>();

  constructor(readonly maxClients: number = DEFAULT_MAX_CLIENTS) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The answer for a request already seen, or null when it must be applied. `printOf` gives
   * the incoming request's print, asked only when its seq is the recorded one: a different
   * request under that seq is refused (INVALID, not recorded: the first answer still stands
   * for the first request's retries).
   */
  check(client: ClientTag, printOf: () => RequestPrint | null): ApplyResult | null {
    const entry = this.entries.get(client.id);
    if (entry === undefined) return client.retry === true && this.mayHaveDropped() ? this.expired(client) : null;
    if (client.seq > entry.seq) return null;
    if (client.seq === entry.seq) {
      const clash = entry.print === null ? null : reuseProblem(client, entry.print, printOf());
      return clash === null ? entry.result : failure('INVALID', clash);
    }
    return failure('STALE_REQUEST', `client "${client.id}" request ${client.seq} is older than its latest, ${entry.seq}`);
  }

  /** Full: every new id has evicted one since it filled (the table never shrinks otherwise). */
  private mayHaveDropped(): boolean {
    return this.entries.size >= this.maxClients;
  }

  private expired(client: ClientTag): ApplyResult {
    const id = JSON.stringify(client.id.length > 64 ? `${client.id.slice(0, 64)}...` : client.id);
    return failure(
      'SESSION_EXPIRED',
      `the outcome of this write is unknown: its exactly-once record was dropped, or it was never applied (client ${id} request ${client.seq} is a retry, ` +
        `and the cluster's table of the latest request of ${this.maxClients} client ids is full and no longer holds this id, so an earlier attempt may have been applied ` +
        `and its record evicted by newer clients); nothing applied: read the state to see whether the write took effect before writing again`,
    );
  }

  record(client: ClientTag, result: ApplyResult, index: number, print: RequestPrint | null): void {
    this.entries.delete(client.id);
    this.entries.set(client.id, { seq: client.seq, result, index, print });
    this.evict();
  }

  /**
   * [[id, seq, index, result], ...] in last-applied order; a record with a print adds its hash
   * and description ([id, seq, index, result, hash, what]), so a record without one is written
   * exactly as before.
   */
  snapshot(): unknown {
    const out: unknown[] = [];
    for (const [id, e] of this.entries) out.push(e.print === null ? [id, e.seq, e.index, e.result] : [id, e.seq, e.index, e.result, e.print.hash, e.print.what]);
    return out;
  }

  restore(data: unknown): void {
    if (!Array.isArray(data)) throw new SnapshotError(`clients: expected an array, found ${typeof data}`);
    let lastIndex = 0;
    for (const [i, item] of (data as readonly unknown[]).entries()) {
      if (!Array.isArray(item) || (item.length !== 4 && item.length !== 6)) {
        throw new SnapshotError(`clients: entry ${i}: expected [id, seq, index, result] or [id, seq, index, result, hash, what]`);
      }
      const [id, seq, index, result, hash, what] = item as readonly unknown[];
      if (typeof id !== 'string' || id.length === 0) throw new SnapshotError(`clients: entry ${i}: id must be a non-empty string`);
      if (!isCount(seq) || !isCount(index)) throw new SnapshotError(`clients: entry ${i}: seq and index must be integers >= 0`);
      if (index <= lastIndex || this.entries.has(id)) {
        throw new SnapshotError(`clients: entry ${i}: entries must be unique and in increasing index order`);
      }
      lastIndex = index;
      this.entries.set(id, { seq, index, result: restoreResult(result, i), print: item.length === 4 ? null : restorePrint(hash, what, i) });
    }
    this.evict();
  }

  private evict(): void {
    while (this.entries.size > this.maxClients) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      this.entries.delete(oldest.value);
    }
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function restorePrint(hash: unknown, what: unknown, i: number): RequestPrint {
  if (typeof hash !== 'string' || !PRINT_HASH.test(hash)) throw new SnapshotError(`clients: entry ${i}: hash must be hex`);
  if (typeof what !== 'string' || what.length === 0 || what.length > MAX_WHAT_CHARS) {
    throw new SnapshotError(`clients: entry ${i}: what must be a string of 1 to ${MAX_WHAT_CHARS} characters`);
  }
  return { hash, what };
}

function restoreResult(value: unknown, i: number): ApplyResult {
  const f = Fields.of(value, `clients: entry ${i}: result`, (m) => new SnapshotError(m));
  if (f.boolean('ok')) {
    f.only(new Set(['ok', 'revision', 'value']));
    const revision = f.int('revision', { min: 0 });
    return f.has('value') ? { ok: true, revision, value: f.raw['value'] } : { ok: true, revision };
  }
  f.only(new Set(['ok', 'code', 'message', 'currentRevision']));
  const code = f.oneOf('code', FAILURE_CODES);
  const message = f.string('message');
  const currentRevision = f.optionalInt('currentRevision', { min: 0 });
  return failure(code, message, currentRevision);
}
