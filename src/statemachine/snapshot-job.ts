/**
 * A snapshot serialized in steps. The state machine captures its state at one applied index
 * (each kind's JSON text, or a frozen view that yields it in pieces), and the Raft host takes
 * a step per turn of the event loop, so heartbeats and votes go out between steps. Each step
 * encodes its own text to UTF-8: pieces are whole JSON texts, so no step splits a surrogate
 * pair, and the steps' bytes joined are the bytes of the whole text.
 */
import { constants } from 'node:buffer';
import type { SnapshotJob } from '../node/raft-ports.js';

/** JSON text in order: `next()` gives the following piece, or undefined after the last. */
export interface SnapshotPieces {
  next(): string | undefined;
  /** An upper bound of the pieces' total length in UTF-16 units, when the source keeps one. */
  readonly lengthBound?: number;
}

/** Pieces of the JSON array whose elements' texts `element(i)` gives, for i below `count`. */
export function arrayPieces(count: number, element: (i: number) => string, lengthBound?: number): SnapshotPieces {
  let i = 0;
  let emptyGiven = false;
  return {
    ...(lengthBound === undefined ? {} : { lengthBound }),
    next(): string | undefined {
      if (count === 0) {
        if (emptyGiven) return undefined;
        emptyGiven = true;
        return '[]';
      }
      if (i >= count) return undefined;
      const text = (i === 0 ? '[' : ',') + element(i) + (i === count - 1 ? ']' : '');
      i++;
      return text;
    },
  };
}

/**
 * Pieces of `JSON.stringify(value)` for a value made for the snapshot, which nothing changes
 * afterwards: the fields of an object and the elements of an array, two levels deep, each
 * serialized when its turn comes. Plain JSON values only (no toJSON, no cycles).
 */
export function valuePieces(value: unknown, lengthBound?: number): SnapshotPieces {
  const walk = walkValue(value, 0);
  return {
    ...(lengthBound === undefined ? {} : { lengthBound }),
    next(): string | undefined {
      const r = walk.next();
      return r.done === true ? undefined : r.value;
    },
  };
}

/** How deep valuePieces splits: a kind's object, its lists, and their records. */
const SPLIT_DEPTH = 2;

function* walkValue(value: unknown, depth: number): Generator<string, void, undefined> {
  if (depth >= SPLIT_DEPTH || value === null || typeof value !== 'object') {
    // As JSON.stringify writes an array element that has no JSON form.
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      yield* walkValue(value[i], depth + 1);
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [key, field] of Object.entries(value)) {
    // As JSON.stringify: a field without a JSON form is left out.
    if (field === undefined || typeof field === 'function' || typeof field === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    yield* walkValue(field, depth + 1);
  }
  yield '}';
}

/** The pieces of several sources, one after another. */
function concatPieces(sources: readonly (string | SnapshotPieces)[]): SnapshotPieces {
  let at = 0;
  return {
    next(): string | undefined {
      while (at < sources.length) {
        const source = sources[at]!;
        if (typeof source === 'string') {
          at++;
          return source;
        }
        const piece = source.next();
        if (piece !== undefined) return piece;
        at++;
      }
      return undefined;
    },
  };
}

/** The buffer's first size beyond what the sources bound, and a source's guess without a bound. */
const INITIAL_BYTES = 64 * 1024;

/** Steps of `finish`: large, but short of one string the size of the whole state. */
const FINISH_STEP_UNITS = 1 << 24;

export class SteppedSnapshot implements SnapshotJob {
  private readonly pieces: SnapshotPieces;
  /**
   * The bytes, written in place step by step. Memory is slow to touch the first time here
   * (about 3.5 ms per MB): joining the steps' chunks at the end held the loop for 200-600 ms
   * at 70 MB, so the buffer is sized from the sources' bounds up front, and each step touches
   * only the pages it writes.
   */
  private out: Buffer;
  private length = 0;
  /** UTF-16 units so far: the text restore() will decode into one string. */
  private units = 0;
  private done = false;

  constructor(
    readonly index: number,
    readonly revision: number,
    sources: readonly (string | SnapshotPieces)[],
    /** The most UTF-16 units restore() can decode into one string (V8's limit; a test's smaller one). */
    private readonly maxUnits: number = constants.MAX_STRING_LENGTH,
  ) {
    this.pieces = concatPieces(sources);
    let bound = 0;
    for (const source of sources) bound += typeof source === 'string' ? source.length : (source.lengthBound ?? INITIAL_BYTES);
    // ASCII text is one byte a unit; the slack covers some wider characters before a regrowth.
    this.out = Buffer.allocUnsafe(Math.min(Math.ceil(bound * 1.1) + INITIAL_BYTES, constants.MAX_LENGTH));
  }

  step(budget: number): boolean {
    if (this.done) return true;
    const texts: string[] = [];
    let taken = 0;
    while (taken < budget || texts.length === 0) {
      const piece = this.pieces.next();
      if (piece === undefined) {
        this.done = true;
        break;
      }
      texts.push(piece);
      taken += piece.length;
    }
    this.units += taken;
    // restore() decodes the snapshot into one string: a snapshot longer than V8's strings
    // would be stored, the log compacted behind it, and then never load again.
    if (this.units > this.maxUnits) {
      this.done = false;
      throw new RangeError(`snapshot at index ${this.index} is longer than ${this.maxUnits} UTF-16 units, the most restore can decode`);
    }
    if (texts.length > 0) this.append(texts.join(''));
    return this.done;
  }

  bytes(): Uint8Array {
    if (!this.done) throw new Error(`snapshot at index ${this.index} is not complete`);
    // A plain view of the bytes written, not Buffer's class: a snapshot is stored as bytes.
    return new Uint8Array(this.out.buffer, this.out.byteOffset, this.length);
  }

  /** Runs the job to its end in one go. */
  finish(): Uint8Array {
    while (!this.step(FINISH_STEP_UNITS));
    return this.bytes();
  }

  private append(text: string): void {
    const needed = Buffer.byteLength(text, 'utf8');
    if (this.length + needed > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(2 * this.out.length, this.length + needed), constants.MAX_LENGTH));
      this.out.copy(grown, 0, 0, this.length);
      this.out = grown;
    }
    this.length += this.out.write(text, this.length, 'utf8');
  }
}
