/**
 * The one toolkit for untrusted input: decoded commands and snapshots, peer messages, a
 * server's answers. Every check names the field, what was expected and what was found (in
 * words that never dump the value), and throws the caller's error class.
 */

export type JsonRecord = Readonly<Record<string, unknown>>;

/** Builds the error to throw: CommandError for commands, ApiError for answers, and so on. */
export type ErrorFactory = (message: string) => Error;

export interface StringRule {
  /** Reject the empty string. */
  readonly nonEmpty?: boolean;
  /** Upper bound on the UTF-8 encoded length. */
  readonly maxBytes?: number;
}

export interface BytesRule {
  /** Upper bound on the length. */
  readonly maxBytes?: number;
}

/** The raw bytes a binary command frame carries beside its JSON header, and the field they fill. */
export interface Payload {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface IntRule {
  readonly min?: number;
  readonly max?: number;
}

/** Longer strings are described by their length, not echoed. */
const ECHO_MAX_CHARS = 40;

/** An untrusted value in a few words for an error message, without dumping it. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > ECHO_MAX_CHARS ? `a string of ${value.length} chars` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A plain object: not null, not an array, not bytes. */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** UTF-8 length, skipping the O(n) count when the UTF-16 length already decides it. */
export function utf8Exceeds(s: string, maxBytes: number): boolean {
  if (s.length > maxBytes) return true; // every UTF-16 unit is at least one UTF-8 byte
  if (s.length * 3 <= maxBytes) return false; // and at most three
  return Buffer.byteLength(s, 'utf8') > maxBytes;
}

const textEncoder = new TextEncoder();

/**
 * Where a value is, for error messages: the words, or a function that writes them only when an
 * error needs them (the entries of a large list were each given a string built for them,
 * used by nothing but an error).
 */
export type Place = string | (() => string);

export function placeText(place: Place): string {
  return typeof place === 'string' ? place : place();
}

/** A field of the value at `place`, as `${place}${suffix}`, written when needed as `place` is. */
export function placeIn(place: Place, suffix: string): Place {
  return typeof place === 'string' ? place + suffix : () => place() + suffix;
}

/** A view of one untrusted object, labelled `where` in error messages. */
export class Fields {
  private constructor(
    readonly raw: JsonRecord,
    private readonly where: Place,
    private readonly makeError: ErrorFactory,
    private readonly payload: Payload | null,
  ) {}

  /** `payload`: the bytes field a binary command frame carried, if any. */
  static of(value: unknown, where: Place, makeError: ErrorFactory, payload: Payload | null = null): Fields {
    if (!isRecord(value)) throw makeError(`${placeText(where)}: expected an object, found ${describe(value)}`);
    return new Fields(value, where, makeError, payload);
  }

  fail(message: string): never {
    throw this.makeError(`${placeText(this.where)}: ${message}`);
  }

  /** Refuse fields this version does not know, so a typo is an error rather than a no-op. */
  only(allowed: ReadonlySet<string>): this {
    for (const key in this.raw) {
      if (!allowed.has(key) && this.raw[key] !== undefined) this.fail(`unexpected field "${key}"`);
    }
    if (this.payload !== null && !allowed.has(this.payload.name)) this.fail(`unexpected field "${this.payload.name}"`);
    return this;
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined || this.payload?.name === key;
  }

  /**
   * A field of bytes in a command: raw bytes from a binary frame or an in-memory command, or a
   * string (JSON commands, and every command written before the binary format), taken as its
   * UTF-8 bytes.
   */
  bytesOrText(key: string, rule: BytesRule = {}): Uint8Array {
    const v = this.raw[key];
    let out: Uint8Array;
    if (v instanceof Uint8Array) out = v;
    else if (typeof v === 'string') out = textEncoder.encode(v);
    else if (v === undefined && this.payload?.name === key) out = this.payload.bytes;
    else return this.fail(`field "${key}" must be a string, found ${describe(v)}`);
    if (rule.maxBytes !== undefined && out.byteLength > rule.maxBytes) {
      this.fail(`field "${key}" must be at most ${rule.maxBytes} bytes, found ${out.byteLength}`);
    }
    return out;
  }

  string(key: string, rule: StringRule = {}): string {
    return this.stringIn(key, rule.nonEmpty === true, rule.maxBytes ?? Infinity);
  }

  /**
   * `string` with its rule as arguments: no rule object, whose shapes vary by caller and cost
   * V8's optimized code for this method its map checks (the agents' report checks take it per
   * entry). The same answers and words as `string`.
   */
  stringIn(key: string, nonEmpty: boolean, maxBytes: number): string {
    const v = this.raw[key];
    if (typeof v !== 'string') this.fail(`field "${key}" must be a string, found ${describe(v)}`);
    if (nonEmpty && v.length === 0) this.fail(`field "${key}" must not be empty`);
    if (maxBytes !== Infinity && utf8Exceeds(v, maxBytes)) {
      this.fail(`field "${key}" must be at most ${maxBytes} bytes, found ${Buffer.byteLength(v, 'utf8')}`);
    }
    return v;
  }

  int(key: string, rule: IntRule = {}): number {
    return this.intIn(key, rule.min ?? Number.MIN_SAFE_INTEGER, rule.max ?? Number.MAX_SAFE_INTEGER);
  }

  /**
   * `int` with its bounds as numbers: no rule object (as `stringIn`), one shape at every call.
   * The same answers and words as `int`.
   */
  intIn(key: string, min: number, max: number): number {
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      this.fail(`field "${key}" must be an integer, found ${describe(v)}`);
    }
    if (v < min || v > max) this.fail(`field "${key}" must be in [${min}, ${max}], found ${v}`);
    return v;
  }

  optionalInt(key: string, rule: IntRule = {}): number | undefined {
    return this.has(key) ? this.int(key, rule) : undefined;
  }

  finite(key: string): number {
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`field "${key}" must be a finite number, found ${describe(v)}`);
    return v;
  }

  /** Any number but NaN (protobuf numbers as proto-loader decodes them). */
  number(key: string): number {
    const v = this.raw[key];
    if (typeof v !== 'number' || Number.isNaN(v)) this.fail(`field "${key}" must be a number, found ${describe(v)}`);
    return v;
  }

  boolean(key: string): boolean {
    const v = this.raw[key];
    if (typeof v !== 'boolean') this.fail(`field "${key}" must be a boolean, found ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.raw[key];
    const found = values.find((x) => x === v);
    if (found === undefined) this.fail(`field "${key}" must be one of ${values.join('|')}, found ${describe(v)}`);
    return found;
  }

  bytes(key: string): Uint8Array {
    const v = this.raw[key];
    if (!(v instanceof Uint8Array)) this.fail(`field "${key}" must be bytes, found ${describe(v)}`);
    return v;
  }

  strings(key: string, maxLength: number = Number.MAX_SAFE_INTEGER): readonly string[] {
    const v = this.array(key, maxLength);
    const bad = v.find((s) => typeof s !== 'string');
    if (bad !== undefined) this.fail(`field "${key}" must be a list of strings, found ${describe(bad)} in it`);
    return v as readonly string[];
  }

  array(key: string, maxLength: number = Number.MAX_SAFE_INTEGER): readonly unknown[] {
    const v = this.raw[key];
    if (!Array.isArray(v)) this.fail(`field "${key}" must be an array, found ${describe(v)}`);
    if (v.length > maxLength) this.fail(`field "${key}" must have at most ${maxLength} items, found ${v.length}`);
    return v as readonly unknown[];
  }
}
