/**
 * The key-value kind: a revisioned store in the manner of etcd's mvcc, without history.
 * Each key remembers the revision that created it, the revision that last changed it, and how
 * many times it has been written since it was created. Keys are strings; values are bytes.
 */
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../limits/entry-size.js';
import { SnapshotError } from './errors.js';
import { Fields } from '../util/untrusted.js';
import { commandFields, type ApplyContext, type KindInstance, type ResourceKind } from './resource-kind.js';
import { failure, okResult, type ApplyResult } from './result.js';
import { arrayPieces, type SnapshotPieces } from './snapshot-job.js';
import { SortedKeys } from './sorted-keys.js';

export const KV_KIND = 'kv';
export { MAX_KEY_BYTES, MAX_VALUE_BYTES };

export interface KvPut {
  readonly kind: 'kv';
  readonly op: 'put';
  readonly key: string;
  /** Any bytes; a JSON command may give a string, taken as its UTF-8 bytes. */
  readonly value: Uint8Array;
  /** Compare-and-set: apply only if the key's modRevision equals this; 0 means "must not exist". */
  readonly ifRevision?: number;
}

export interface KvDelete {
  readonly kind: 'kv';
  readonly op: 'delete';
  readonly key: string;
  /** Apply only if the key's modRevision equals this. */
  readonly ifRevision?: number;
}

export type KvCommand = KvPut | KvDelete;

export interface KvRecord {
  readonly key: string;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Writes since creation: 1 after the put that created the key. */
  readonly version: number;
}

/** What `get` answers; the shape `ctl kv get -o json` prints. */
export interface KvGetResult {
  readonly key: string;
  readonly value: Uint8Array;
  /** The key's modRevision. */
  readonly revision: number;
}

export interface KvListOptions {
  /** At most this many records (no limit when absent). */
  readonly limit?: number;
  /** Start strictly after this key: pass the last key of the previous page. */
  readonly after?: string;
}

export interface KvListResult {
  /** Matching records in key order (UTF-16 code unit order, as JavaScript compares strings). */
  readonly items: readonly KvRecord[];
  /** True when the limit cut the listing short. */
  readonly more: boolean;
}

export interface KvView {
  get(key: string): KvGetResult | null;
  /** The key with all its revision metadata. */
  getRecord(key: string): KvRecord | null;
  /** Keys starting with `prefix` (all keys for ''), in key order. */
  list(prefix?: string, options?: KvListOptions): KvListResult;
  readonly size: number;
}

const PUT_FIELDS = commandFields('op', 'key', 'value', 'ifRevision');
const DELETE_FIELDS = commandFields('op', 'key', 'ifRevision');

function parseKv(fields: Fields): KvCommand {
  const op = fields.oneOf('op', ['put', 'delete'] as const);
  fields.only(op === 'put' ? PUT_FIELDS : DELETE_FIELDS);
  const key = fields.string('key', { nonEmpty: true, maxBytes: MAX_KEY_BYTES });
  const ifRevision = fields.optionalInt('ifRevision', { min: 0 });
  if (op === 'put') {
    const value = fields.bytesOrText('value', { maxBytes: MAX_VALUE_BYTES });
    return ifRevision === undefined ? { kind: 'kv', op, key, value } : { kind: 'kv', op, key, value, ifRevision };
  }
  return ifRevision === undefined ? { kind: 'kv', op, key } : { kind: 'kv', op, key, ifRevision };
}

/**
 * An upper bound of one record's length in a snapshot's JSON, in UTF-16 units (what V8's string
 * limit counts): the key as JSON, the value as text or base64 (snapshotValue: either way at most
 * 4/3 of its bytes, plus the quotes and `{"b64":}`), three revisions and the punctuation.
 */
export function kvRecordSnapshotLength(key: string, value: Uint8Array): number {
  return JSON.stringify(key).length + Math.ceil((value.byteLength * 4) / 3) + 12 + 3 * 17 + 4;
}

/** Keys in messages are cut short: a message is cached with its result and may be logged. */
function quote(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key);
}


export class KvStore implements KindInstance<KvCommand, KvView>, KvView {
  private readonly records = new Map<string, KvRecord>();
  /**
   * All keys in order, kept so as each is created or deleted (sorted-keys.ts): an overwrite (the
   * common write) costs nothing more, and no listing sorts.
   */
  private order = new SortedKeys();
  /** The sum of kvRecordSnapshotLength over the records, kept as they change. */
  private snapshotChars = 0;

  get view(): KvView {
    return this;
  }

  get size(): number {
    return this.records.size;
  }

  /** An upper bound of this kind's length in a snapshot, in UTF-16 units. */
  snapshotLength(): number {
    return this.snapshotChars;
  }

  apply(command: KvCommand, ctx: ApplyContext): ApplyResult {
    switch (command.op) {
      case 'put':
        return this.put(command, ctx);
      case 'delete':
        return this.delete(command, ctx);
      default: {
        const never: never = command;
        return never;
      }
    }
  }

  private put(command: KvPut, ctx: ApplyContext): ApplyResult {
    const current = this.records.get(command.key);
    if (command.ifRevision !== undefined) {
      const at = current?.modRevision ?? 0;
      if (at !== command.ifRevision) {
        return failure('CAS_FAILED', `key ${quote(command.key)} is at revision ${at}, expected ${command.ifRevision}`, at);
      }
    }
    const revision = ctx.bump();
    this.snapshotChars += kvRecordSnapshotLength(command.key, command.value) - (current === undefined ? 0 : kvRecordSnapshotLength(current.key, current.value));
    this.records.set(command.key, {
      key: command.key,
      value: command.value,
      createRevision: current?.createRevision ?? revision,
      modRevision: revision,
      version: (current?.version ?? 0) + 1,
    });
    if (current === undefined) this.order.add(command.key);
    return okResult(revision);
  }

  private delete(command: KvDelete, ctx: ApplyContext): ApplyResult {
    const current = this.records.get(command.key);
    if (current === undefined) return failure('NOT_FOUND', `key ${quote(command.key)} does not exist`);
    if (command.ifRevision !== undefined && current.modRevision !== command.ifRevision) {
      return failure(
        'CAS_FAILED',
        `key ${quote(command.key)} is at revision ${current.modRevision}, expected ${command.ifRevision}`,
        current.modRevision,
      );
    }
    const revision = ctx.bump();
    this.snapshotChars -= kvRecordSnapshotLength(current.key, current.value);
    this.records.delete(command.key);
    this.order.delete(command.key);
    return okResult(revision);
  }

  get(key: string): KvGetResult | null {
    const r = this.records.get(key);
    return r === undefined ? null : { key: r.key, value: r.value, revision: r.modRevision };
  }

  getRecord(key: string): KvRecord | null {
    return this.records.get(key) ?? null;
  }

  list(prefix = '', options: KvListOptions = {}): KvListResult {
    // From the prefix, or past `after` when that is further on.
    const after = options.after !== undefined && options.after >= prefix ? options.after : undefined;
    const limit = options.limit ?? Infinity;
    const items: KvRecord[] = [];
    for (const key of after === undefined ? this.order.from(prefix, false) : this.order.from(after, true)) {
      if (!key.startsWith(prefix)) break;
      if (items.length >= limit) return { items, more: true };
      items.push(this.records.get(key)!);
    }
    return { items, more: false };
  }

  /**
   * Sorted tuples [key, value, createRevision, modRevision, version]: compact and ordered. A
   * value is its text when it is valid UTF-8 and JSON does not escape it beyond base64's size,
   * else `{ "b64": base64 }`: readable in a dump, and the same bytes always give the same form.
   */
  snapshot(): unknown {
    return this.keys().map((key) => recordSnapshot(this.records.get(key)!));
  }

  /**
   * The records in key order, frozen: a put replaces a record, never changes one, so holding
   * them is holding the state at this point. Their text is made piece by piece.
   */
  snapshotPieces(): SnapshotPieces {
    const records = this.keys().map((key) => this.records.get(key)!);
    return arrayPieces(records.length, (i) => JSON.stringify(recordSnapshot(records[i]!)), this.snapshotChars + records.length + 2);
  }

  restore(data: unknown): void {
    if (!Array.isArray(data)) throw new SnapshotError(`kv: expected an array of records, found ${typeof data}`);
    const keys: string[] = [];
    for (const [i, item] of (data as readonly unknown[]).entries()) {
      const record = restoreRecord(item, i);
      const previous = keys[keys.length - 1];
      if (previous !== undefined && !(previous < record.key)) {
        throw new SnapshotError(`kv: record ${i}: keys must be strictly increasing, found ${quote(record.key)} after ${quote(previous)}`);
      }
      keys.push(record.key);
      this.records.set(record.key, record);
      this.snapshotChars += kvRecordSnapshotLength(record.key, record.value);
    }
    this.order = SortedKeys.fromSorted(keys);
  }

  private keys(): readonly string[] {
    return this.order.toArray();
  }
}

function recordSnapshot(r: KvRecord): readonly unknown[] {
  return [r.key, snapshotValue(r.value), r.createRevision, r.modRevision, r.version];
}

function restoreRecord(item: unknown, i: number): KvRecord {
  const fail = (what: string): never => {
    throw new SnapshotError(`kv: record ${i}: ${what}`);
  };
  if (!Array.isArray(item) || item.length !== 5) return fail('expected [key, value, createRevision, modRevision, version]');
  const [key, stored, createRevision, modRevision, version] = item as readonly unknown[];
  if (typeof key !== 'string' || key.length === 0) return fail('key must be a non-empty string');
  const value = restoreValue(stored);
  if (value === null) return fail('value must be a string or { "b64": base64 }');
  const positive = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
  if (!positive(createRevision) || !positive(modRevision) || !positive(version)) {
    return fail('revisions and version must be positive integers');
  }
  if (createRevision > modRevision) return fail(`createRevision ${createRevision} is after modRevision ${modRevision}`);
  return { key, value, createRevision, modRevision, version };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

function snapshotValue(value: Uint8Array): string | { readonly b64: string } {
  if (jsonEscapeBytes(value) * 3 <= value.length) {
    try {
      return utf8.decode(value);
    } catch {
      // not UTF-8: base64 below
    }
  }
  return { b64: Buffer.from(value).toString('base64') };
}

/**
 * The bytes JSON adds escaping `value` as text: a control character becomes \u00XX (or \n and
 * the like), a quote or backslash gets one more. Small protobuf messages are valid UTF-8 made
 * mostly of control characters, and as text they took up to 6 times their size in a snapshot;
 * base64 takes 4/3.
 */
function jsonEscapeBytes(value: Uint8Array): number {
  let extra = 0;
  for (const b of value) {
    if (b < 0x20) extra += b === 0x08 || b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d ? 1 : 5;
    else if (b === 0x22 || b === 0x5c) extra += 1;
  }
  return extra;
}

function restoreValue(stored: unknown): Uint8Array | null {
  if (typeof stored === 'string') return textEncoder.encode(stored);
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return null;
  const keys = Object.keys(stored);
  const b64 = (stored as Readonly<Record<string, unknown>>)['b64'];
  if (keys.length !== 1 || typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export const kvKind: ResourceKind<KvCommand, KvView> = {
  name: KV_KIND,
  parse: parseKv,
  create: () => new KvStore(),
};
