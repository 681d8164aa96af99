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
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';

/** Below glibc's initial mmap threshold (128 KiB). */
export const PIECE_BYTES = 64 * 1024;
/** What glibc's mmap threshold is raised to (its trim threshold to twice that) once this block is freed. */
export const START_THRESHOLD_BYTES = 1024 * 1024;

/** The file's text, read PIECE_BYTES at a time into one reused buffer. The bundles are ASCII. */
export function readInPieces(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const piece = Buffer.allocUnsafeSlow(PIECE_BYTES);
    const parts: string[] = [];
    for (let n = fs.readSync(fd, piece, 0, PIECE_BYTES, null); n > 0; n = fs.readSync(fd, piece, 0, PIECE_BYTES, null)) {
      parts.push(piece.toString('latin1', 0, n));
    }
    return parts.join('');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads and compiles `file`; the returned function runs it as a CommonJS module (its own require,
 * module, __filename), whose stack traces name it. Apart so that the entry can tell a bundle it
 * cannot load from one that fails as it runs (./bundle-entry.ts).
 */
export function loadPiecewise(file: string): () => unknown {
  // Mapped by malloc, never touched, and freed by the first collection: glibc takes its size as its threshold.
  Buffer.allocUnsafeSlow(START_THRESHOLD_BYTES);
  const run = vm.compileFunction(readInPieces(file), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  return () => {
    const module = { exports: {} as unknown };
    run(module.exports, createRequire(file), module, file, path.dirname(file));
    return module.exports;
  };
}

/** Runs `file` as a CommonJS module; what it exports. */
export function runPiecewise(file: string): unknown {
  return loadPiecewise(file)();
}
