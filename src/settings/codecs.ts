/**
 * How each type of cluster-wide setting is read from an operator (a YAML scalar or a
 * command-line string), stored in the log (canonical JSON) and shown. Reading from the log is
 * strict and total: the same bytes give the same value, or the same refusal, on every replica.
 */
import { DurationError, formatDuration, parseDuration } from '../config/duration.js';
import { formatIpv4Cidr, parseIpv4Cidr } from './ipv4-cidr.js';
import { vipRangeProblem } from './vip-range-rules.js';

export type JsonScalar = string | number | boolean | null;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export interface SettingCodec<T> {
  /** What a valid value looks like, for help texts and errors. */
  readonly expected: string;
  fromInput(input: unknown): Parsed<T>;
  toJson(value: T): JsonScalar;
  /** undefined when `json` is not a value this codec wrote. */
  fromJson(json: unknown): T | undefined;
  format(value: T): string;
}

/** Longest duration a setting takes: a year. Longer is a typo, not a policy. */
export const MAX_SETTING_DURATION_MS = 365 * 24 * 3_600_000;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const no = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

function shown(input: unknown): string {
  if (typeof input === 'string') return JSON.stringify(input);
  if (input === null || input === undefined) return 'nothing';
  if (typeof input === 'object') return Array.isArray(input) ? 'a list' : 'a mapping';
  return `the ${typeof input} ${String(input)}`;
}

/**
 * A floor for what an operator may set that is higher than what the log may hold: values an
 * older version accepted stay valid in the log (every replica must apply them alike), while a
 * new value below the floor is refused, with `why`.
 */
export interface InputFloor {
  readonly minMs: number;
  readonly why: string;
}

export function durationCodec(minMs: number, floor: InputFloor | null = null): SettingCodec<number> {
  const inputMin = Math.max(minMs, floor?.minMs ?? 0);
  const expected = `a duration such as 500ms, 10s, 5m or 24h (at least ${formatDuration(inputMin)})`;
  const inRange = (ms: number): boolean => Number.isSafeInteger(ms) && ms >= minMs && ms <= MAX_SETTING_DURATION_MS;
  return {
    expected,
    fromInput(input) {
      if (typeof input !== 'string') return no(`expected ${expected}, found ${shown(input)}`);
      let ms: number;
      try {
        ms = parseDuration(input);
      } catch (err) {
        if (err instanceof DurationError) return no(err.message);
        throw err;
      }
      if (ms < minMs) return no(`expected at least ${formatDuration(minMs)}, found ${JSON.stringify(input)}`);
      if (floor !== null && ms < floor.minMs) return no(`expected at least ${formatDuration(floor.minMs)}, found ${JSON.stringify(input)}: ${floor.why}`);
      if (ms > MAX_SETTING_DURATION_MS) return no(`expected at most ${formatDuration(MAX_SETTING_DURATION_MS)}, found ${JSON.stringify(input)}`);
      return ok(ms);
    },
    toJson: (ms) => ms,
    fromJson: (json) => (typeof json === 'number' && inRange(json) ? json : undefined),
    format: formatDuration,
  };
}

/** Like InputFloor, for counts: what an operator may set, narrower than what the log may hold. */
export interface InputRange {
  readonly min: number;
  readonly max: number;
  readonly why: string;
}

export function countCodec(min: number, max: number, input: InputRange | null = null): SettingCodec<number> {
  const [inMin, inMax] = input === null ? [min, max] : [Math.max(min, input.min), Math.min(max, input.max)];
  const expected = `a whole number from ${inMin} to ${inMax}`;
  const inRange = (n: number): boolean => Number.isSafeInteger(n) && n >= min && n <= max;
  return {
    expected,
    fromInput(given) {
      const n = typeof given === 'number' ? given : typeof given === 'string' && /^\d+$/.test(given.trim()) ? Number(given) : NaN;
      if (!inRange(n)) return no(`expected ${expected}, found ${shown(given)}`);
      if (input !== null && (n < inMin || n > inMax)) return no(`expected ${expected}, found ${shown(given)}: ${input.why}`);
      return ok(n);
    },
    toJson: (n) => n,
    fromJson: (json) => (typeof json === 'number' && inRange(json) ? json : undefined),
    format: String,
  };
}

/** The spellings YAML 1.2 reads as booleans, so a file and `ctl config set` take the same words. */
const FLAG_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
]);

export const flagCodec: SettingCodec<boolean> = {
  expected: 'true or false',
  fromInput(input) {
    if (typeof input === 'boolean') return ok(input);
    const word = typeof input === 'string' ? FLAG_WORDS.get(input.trim()) : undefined;
    return word === undefined ? no(`expected true or false, found ${shown(input)}`) : ok(word);
  },
  toJson: (b) => b,
  fromJson: (json) => (typeof json === 'boolean' ? json : undefined),
  format: String,
};

/** The VIP range: an operator's value must be usable for VIPs; the log's is taken as committed (vip-range-rules.ts). */
export const vipCidrCodec: SettingCodec<string> = {
  expected: 'an IPv4 range such as 241.0.0.0/8',
  fromInput(input) {
    if (typeof input !== 'string') return no(`expected an IPv4 range such as 241.0.0.0/8, found ${shown(input)}`);
    const parsed = parseIpv4Cidr(input);
    if (!parsed.ok) return no(parsed.reason);
    const problem = vipRangeProblem(parsed.cidr);
    return problem === null ? ok(formatIpv4Cidr(parsed.cidr)) : no(problem);
  },
  toJson: (s) => s,
  fromJson(json) {
    if (typeof json !== 'string') return undefined;
    // No vipRangeProblem here: a log from before that rule may hold such a range, and replay takes it.
    const parsed = parseIpv4Cidr(json);
    return parsed.ok && formatIpv4Cidr(parsed.cidr) === json ? json : undefined;
  },
  format: (s) => s,
};

/** Same rule as member ids in the cluster file. */
const MEMBER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const NONE = ['', 'none'];

/** A member id, or none (null): written as `none` or an empty string on the command line. */
export const optionalMemberCodec: SettingCodec<string | null> = {
  expected: 'a member id, or none',
  fromInput(input) {
    if (input === null || (typeof input === 'string' && NONE.includes(input.trim()))) return ok(null);
    if (typeof input === 'string' && MEMBER_ID.test(input)) return ok(input);
    return no(`expected a member id (letters, digits, '_', '.', '-') or none, found ${shown(input)}`);
  },
  toJson: (id) => id,
  fromJson: (json) => (json === null ? null : typeof json === 'string' && MEMBER_ID.test(json) ? json : undefined),
  format: (id) => id ?? 'none',
};

/** One of a few words (`open`, `declared`): taken as written, in the log exactly so. */
export function choiceCodec<T extends string>(words: readonly T[]): SettingCodec<T> {
  const expected = `one of ${words.map((w) => JSON.stringify(w)).join(', ')}`;
  const word = (input: unknown): T | undefined => words.find((w) => w === input);
  return {
    expected,
    fromInput(input) {
      const found = word(typeof input === 'string' ? input.trim() : input);
      return found === undefined ? no(`expected ${expected}, found ${shown(input)}`) : ok(found);
    },
    toJson: (w) => w,
    fromJson: word,
    format: (w) => w,
  };
}
