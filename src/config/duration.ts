/**
 * Durations as written in the cluster config and on the command line: a non-negative decimal
 * number and one unit, e.g. `100ms`, `2s`, `1.5s`, `1m`, `12h`. Results are whole milliseconds,
 * so `1.5ms` is refused rather than silently rounded.
 */

export class DurationError extends Error {
  override readonly name = 'DurationError';
  readonly code = 'DURATION_INVALID';
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid duration ${JSON.stringify(input)}: ${reason}`);
  }
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

const EXPECTED = 'expected a number followed by one of ms, s, m, h (e.g. 100ms, 1.5s, 1m)';
const SHAPE = /^(\d+)(?:\.(\d+))?([a-z]+)$/;

function isUnit(text: string): text is Unit {
  return Object.hasOwn(UNIT_MS, text);
}

/** Parses a duration to milliseconds; throws DurationError saying what was wrong. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new DurationError(text, `${EXPECTED}, found an empty string`);
  if (trimmed.startsWith('-')) throw new DurationError(text, 'durations cannot be negative');
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    throw new DurationError(text, `${EXPECTED}, found a number without a unit`);
  }
  const match = SHAPE.exec(trimmed);
  if (match === null) throw new DurationError(text, EXPECTED);
  const [, whole = '', fraction = '', unit = ''] = match;
  if (!isUnit(unit)) {
    throw new DurationError(text, `unknown unit "${unit}"; ${EXPECTED}`);
  }
  const factor = UNIT_MS[unit];
  // Exact integer arithmetic: 1.1s must be 1100, not 1100.0000000000002.
  const scale = 10 ** fraction.length;
  const fractionMs = (Number(fraction === '' ? '0' : fraction) * factor) / scale;
  if (!Number.isInteger(fractionMs)) {
    throw new DurationError(text, 'durations must be whole milliseconds');
  }
  const ms = Number(whole) * factor + fractionMs;
  if (!Number.isSafeInteger(ms)) throw new DurationError(text, 'duration is too large');
  return ms;
}

/** The shortest exact rendering of a millisecond count in the units parseDuration accepts. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0 || !Number.isInteger(ms)) return `${ms}ms`;
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
