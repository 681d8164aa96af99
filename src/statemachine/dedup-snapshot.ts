/**
 * The dedup table (dedup.ts) in the snapshot, in one of two forms:
 *
 *   shared (below CLIENT_SHARE_VERSION, and every snapshot before it):
 *     [[id, seq, index, result], ...], a record with a print adding [.., hash, what]
 *   owned (from CLIENT_SHARE_VERSION):
 *     {"records": [[id, seq, index, result, hash|null, what|null, owner|null], ...],
 *      "dropped": [owner, ...], "legacyDropped": boolean[, "forgotten": true]}
 *
 * Records are in last-applied order. `dropped` names the owners whose records the table evicted
 * or another owner took (owner-shares.ts, dedup.ts); `legacyDropped` says it evicted records written before owners (null owner);
 * `forgotten`, written only when true (so a table that never named more owners than it may reads
 * as before), that owners past that bound were forgotten.
 * A shared-form table is written exactly as before, so members older than the level still read
 * it; the owned form is written only once every member reads it. Both are read, as untrusted input.
 */
import { CONTROLLER_CLIENT_ID_PREFIX } from './command.js';
import { SnapshotError } from './errors.js';
import type { OwnerKey } from './owner-shares.js';
import { INTERNAL_OWNER, ownerProblem } from './record-owner.js';
import { MAX_WHAT_CHARS, type RequestPrint } from './request-print.js';
import { failure, type ApplyResult, type FailureCode } from './result.js';
import { Fields } from '../util/untrusted.js';

export interface ClientEntry {
  readonly seq: number;
  readonly result: ApplyResult;
  /** Raft index at which `seq` was applied; orders eviction. */
  readonly index: number;
  /** What the request was; null for records without one (dedup.ts). */
  readonly print: RequestPrint | null;
  /** Whose record it is (record-owner.ts); null before owners (the shared form, or an entry without one). */
  readonly owner: OwnerKey;
}

/** What an owned-form table adds: the owners whose records it evicted. */
export interface LostOwners {
  readonly dropped: readonly string[];
  readonly legacyDropped: boolean;
  /** Owners that lost records were forgotten past the table's bound (owner-shares.ts). */
  readonly forgotten: boolean;
}

export interface TableImage {
  readonly entries: readonly (readonly [string, ClientEntry])[];
  /** Null for the shared form. */
  readonly lost: LostOwners | null;
}

/** A print's hash, as read from a snapshot: hex. */
const PRINT_HASH = /^[0-9a-f]{1,64}$/;
const FAILURE_CODES: readonly FailureCode[] = ['CAS_FAILED', 'NOT_FOUND', 'STALE_REQUEST', 'INVALID', 'IGNORED', 'CONFLICT'];
const OWNED_FIELDS = new Set(['records', 'dropped', 'legacyDropped', 'forgotten']);
const snapshotError = (m: string): SnapshotError => new SnapshotError(m);

/** The shared form: `entries` must hold no owner. */
export function sharedForm(entries: ReadonlyMap<string, ClientEntry>): unknown[] {
  const out: unknown[] = [];
  for (const [id, e] of entries) out.push(e.print === null ? [id, e.seq, e.index, e.result] : [id, e.seq, e.index, e.result, e.print.hash, e.print.what]);
  return out;
}

function ownedRecord(id: string, e: ClientEntry): unknown[] {
  return [id, e.seq, e.index, e.result, e.print?.hash ?? null, e.print?.what ?? null, e.owner];
}

/**
 * An upper bound of a record's length in either form's JSON, with its comma: the owned form, which
 * writes every field the shared one does and more.
 */
export function recordLength(id: string, e: ClientEntry): number {
  return JSON.stringify(ownedRecord(id, e)).length + 1;
}

/**
 * An upper bound of a table's JSON beyond its records' (recordLength): the owned form's fields
 * and `lost`, of which `lostJsonLength` bounds the JSON (OwnerShares.lostJsonLength).
 */
export function tableOverhead(lostJsonLength: number): number {
  return lostJsonLength + 64;
}

export function ownedForm(entries: ReadonlyMap<string, ClientEntry>, lost: readonly OwnerKey[], forgotten: boolean): unknown {
  const records: unknown[] = [];
  for (const [id, e] of entries) records.push(ownedRecord(id, e));
  const form = { records, dropped: lost.filter((o): o is string => o !== null), legacyDropped: lost.includes(null) };
  return forgotten ? { ...form, forgotten: true } : form;
}

export function readTable(data: unknown): TableImage {
  if (Array.isArray(data)) return { entries: readRecords(data as readonly unknown[], false), lost: null };
  const f = Fields.of(data, 'clients', snapshotError).only(OWNED_FIELDS);
  const entries = readRecords(f.array('records'), true);
  const dropped = f.strings('dropped');
  for (const [i, owner] of dropped.entries()) checkOwner(owner, `clients: dropped ${i}`, 'any');
  if (new Set(dropped).size !== dropped.length) f.fail('field "dropped" must name each owner once');
  return { entries, lost: { dropped, legacyDropped: f.boolean('legacyDropped'), forgotten: f.has('forgotten') ? f.boolean('forgotten') : false } };
}

function readRecords(items: readonly unknown[], owned: boolean): [string, ClientEntry][] {
  const out: [string, ClientEntry][] = [];
  const ids = new Set<string>();
  let lastIndex = 0;
  for (const [i, item] of items.entries()) {
    const entry = owned ? readOwned(item, i) : readShared(item, i);
    if (entry[1].index <= lastIndex || ids.has(entry[0])) {
      throw new SnapshotError(`clients: entry ${i}: entries must be unique and in increasing index order`);
    }
    lastIndex = entry[1].index;
    ids.add(entry[0]);
    out.push(entry);
  }
  return out;
}

function readShared(item: unknown, i: number): [string, ClientEntry] {
  if (!Array.isArray(item) || (item.length !== 4 && item.length !== 6)) {
    throw new SnapshotError(`clients: entry ${i}: expected [id, seq, index, result] or [id, seq, index, result, hash, what]`);
  }
  const [id, seq, index, result, hash, what] = item as readonly unknown[];
  return [readId(id, i), { ...readCounts(seq, index, i), result: readResult(result, i), print: item.length === 4 ? null : readPrint(hash, what, i), owner: null }];
}

function readOwned(item: unknown, i: number): [string, ClientEntry] {
  if (!Array.isArray(item) || item.length !== 7) throw new SnapshotError(`clients: entry ${i}: expected [id, seq, index, result, hash, what, owner]`);
  const [rawId, seq, index, result, hash, what, owner] = item as readonly unknown[];
  const id = readId(rawId, i);
  const print = hash === null && what === null ? null : readPrint(hash, what, i);
  if (owner !== null && typeof owner !== 'string') throw new SnapshotError(`clients: entry ${i}: owner must be a string or null`);
  if (owner !== null) checkOwner(owner, `clients: entry ${i}: owner`, id.startsWith(CONTROLLER_CLIENT_ID_PREFIX) ? 'internal' : 'caller');
  return [id, { ...readCounts(seq, index, i), result: readResult(result, i), print, owner }];
}

/**
 * An owner as the table may hold it: the internal owner only for (and always for) a record of the
 * controllers' own ids, a caller's (as an entry may carry it) for any other; `any` of both in
 * `dropped`.
 */
function checkOwner(owner: string, where: string, kind: 'internal' | 'caller' | 'any'): void {
  if (kind === 'internal') {
    if (owner !== INTERNAL_OWNER) throw new SnapshotError(`${where}: a controller's own id is owned by ${JSON.stringify(INTERNAL_OWNER)}, found ${JSON.stringify(owner.slice(0, 64))}`);
    return;
  }
  const problem = kind === 'any' && owner === INTERNAL_OWNER ? null : ownerProblem(owner);
  if (problem !== null) throw new SnapshotError(`${where} ${problem}`);
}

function readId(id: unknown, i: number): string {
  if (typeof id !== 'string' || id.length === 0) throw new SnapshotError(`clients: entry ${i}: id must be a non-empty string`);
  return id;
}

function readCounts(seq: unknown, index: unknown, i: number): { seq: number; index: number } {
  if (!isCount(seq) || !isCount(index)) throw new SnapshotError(`clients: entry ${i}: seq and index must be integers >= 0`);
  return { seq, index };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function readPrint(hash: unknown, what: unknown, i: number): RequestPrint {
  if (typeof hash !== 'string' || !PRINT_HASH.test(hash)) throw new SnapshotError(`clients: entry ${i}: hash must be hex`);
  if (typeof what !== 'string' || what.length === 0 || what.length > MAX_WHAT_CHARS) {
    throw new SnapshotError(`clients: entry ${i}: what must be a string of 1 to ${MAX_WHAT_CHARS} characters`);
  }
  return { hash, what };
}

function readResult(value: unknown, i: number): ApplyResult {
  const f = Fields.of(value, `clients: entry ${i}: result`, snapshotError);
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
