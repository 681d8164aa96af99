/**
 * Runs a long-running binary's CommonJS bundle (build/bundle-bins.ts) read in 64 KB pieces.
 *
 * Node's loaders read a script into one buffer of its size (3 MB for the controller) and free it
 * once it is compiled. glibc serves a block that large with mmap, and freeing an mmapped block
 * raises its thresholds to that size for the rest of the process: from then on blocks up to 3 MB
 * come from the heap, which is given back only once 6 MB at its top are free. V8's compiler and
 * collector free much in a fresh server's first seconds, and an idle controller kept 3 MB more
 * (docs/benchmarks.md, "Memory at rest, by mapping"). A piece of 64 KB stays under glibc's first
 * threshold (128 KB), comes from the heap and is reused; the source is joined in V8's heap,
 * where it is kept anyway.
 *
 * Left at glibc's first thresholds (128 KB, trimmed at 256 KB), a fresh member's first seconds cost
 * 10-35% more CPU: V8's compiler takes and frees zones of a few hundred KB, each then mapped and
 * faulted in again. So one block of START_THRESHOLD_BYTES is taken and dropped first, which sets
 * the thresholds to 1 MB / 2 MB before any of that, and above V8's table of the bundle's line ends
 * (770 KB for the controller), the next largest block freed, which would raise them again.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { readCodeCache, type CodeCacheUse } from './code-cache.js';

/** Below glibc's initial mmap threshold (128 KiB). */
export const PIECE_BYTES = 64 * 1024;
/** What glibc's mmap threshold is raised to (its trim threshold to twice that) once this block is freed. */
export const START_THRESHOLD_BYTES = 1024 * 1024;

/** The file's text, read PIECE_BYTES at a time into one reused buffer. The bundles are ASCII. */
export function readInPieces(file: string, hash?: Hash): string {
  const fd = fs.openSync(file, 'r');
  try {
    const piece = Buffer.allocUnsafeSlow(PIECE_BYTES);
    const parts: string[] = [];
    for (let n = fs.readSync(fd, piece, 0, PIECE_BYTES, null); n > 0; n = fs.readSync(fd, piece, 0, PIECE_BYTES, null)) {
      hash?.update(piece.subarray(0, n));
      parts.push(piece.toString('latin1', 0, n));
    }
    return parts.join('');
  } finally {
    fs.closeSync(fd);
  }
}

/** A bundle compiled, not yet run. */
export interface LoadedBundle {
  /** Runs it as a CommonJS module; what it exports. */
  run(): unknown;
  /** SHA-256 of its bytes, hex: what its code cache is keyed by (./code-cache.ts). */
  readonly digest: string;
  /** What the compile did with the code cache beside it. */
  readonly cache: CodeCacheUse;
  /** V8's code cache of what was compiled so far: the script and the functions run since. */
  createCache(): Buffer;
}

/** The CommonJS wrapper, on the source's first line so that its lines keep their numbers. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {';

/**
 * Reads and compiles `file`, with its code cache when one beside it is for these bytes; `run`
 * runs it as a CommonJS module (its own require, module, __filename), whose stack traces name it.
 * Apart from the run so that the entry can tell a bundle it cannot load from one that fails as it
 * runs (./bundle-entry.ts).
 */
export function loadBundle(file: string): LoadedBundle {
  // Mapped by malloc, never touched, and freed by the first collection: glibc takes its size as its threshold.
  Buffer.allocUnsafeSlow(START_THRESHOLD_BYTES);
  const hash = createHash('sha256');
  // A script, not a compiled function, so that the cache can take the functions run after the
  // compile too. Its `#!` line, legal only at a script's start, becomes a comment of its length.
  const source = readInPieces(file, hash).replace(/^#!/, '//');
  const digest = hash.digest('hex');
  const found = readCodeCache(file, digest);
  const cachedData = found === 'refused' ? null : found;
  const script = new vm.Script(`${WRAPPER_HEAD}${source}\n})`, { filename: file, columnOffset: -WRAPPER_HEAD.length, ...(cachedData === null ? {} : { cachedData }) });
  // One of another node, or damaged, is refused here as V8 refuses one of another V8 version.
  const cache: CodeCacheUse = found === 'refused' ? 'rejected' : cachedData === null ? 'absent' : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  return {
    digest,
    cache,
    createCache: () => script.createCachedData(),
    run: () => {
      const module = { exports: {} as unknown };
      fn(module.exports, createRequire(file), module, file, path.dirname(file));
      return module.exports;
    },
  };
}

/** Runs `file` as a CommonJS module; what it exports. */
export function runPiecewise(file: string): unknown {
  return loadBundle(file).run();
}
