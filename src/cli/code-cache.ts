/**
 * V8's code cache of a long-running binary's bundle: NAME-main.cjs.v8cache beside it, written by
 * the build (build/bundle-bins.ts runs each binary once with CODE_CACHE_ENV=write). Compiling the
 * 3.4 MB controller bundle, and the functions its imports run, was about 0.1 s of every start's
 * 0.5 s of CPU; with the cache V8 deserializes the code instead (docs/benchmarks.md, "Code cache").
 *
 * Trusted as the code itself is, so kept only where the code is: a cache is bytecode V8 runs, and
 * one in a shared directory (a temp dir) could be planted by another user. Keyed by the bundle's
 * SHA-256: V8 itself checks only its own version, its flags and the source's length, and bytecode
 * of another bundle of the same length would run as this one. A cache that is missing, of another
 * bundle, or refused by V8 (another node version or V8 flags) only costs the compile it would save.
 *
 * The cache is written at a checkpoint (./code-cache-checkpoint.ts): when the imports are
 * evaluated and before the binary changes any V8 flag (server-tiering.ts), since V8 refuses a
 * cache made under other flags than those it is read under.
 */
import fs from 'node:fs';

export const CODE_CACHE_SUFFIX = '.v8cache';
/** `write`: the checkpoint writes the cache (the build); `report`: it says on stderr what the start did with it. */
export const CODE_CACHE_ENV = 'RAFT_CONTROLLER_CODE_CACHE';
const MAGIC = 'raft-controller v8 code cache 1\n';

/** What a start did with its bundle's cache. */
export type CodeCacheUse = 'accepted' | 'rejected' | 'absent';

export function codeCacheFile(bundle: string): string {
  return bundle + CODE_CACHE_SUFFIX;
}

function header(digest: string): string {
  return `${MAGIC}${digest}\n`;
}

/** The cached data written for a bundle whose contents hash to `digest`; null when there is none for it. */
export function readCodeCache(bundle: string, digest: string): Buffer | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(codeCacheFile(bundle));
  } catch {
    return null;
  }
  const head = header(digest);
  if (bytes.length <= head.length || bytes.toString('latin1', 0, head.length) !== head) return null;
  return bytes.subarray(head.length);
}

/** Writes the cache of the bundle hashing to `digest`, whole or not at all (concurrent builds, a crash). */
export function writeCodeCache(bundle: string, digest: string, data: Buffer): void {
  const file = codeCacheFile(bundle);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, Buffer.concat([Buffer.from(header(digest), 'latin1'), data]));
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
