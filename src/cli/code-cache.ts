/**
 * V8's code cache of a long-running binary's bundle: NAME-main.cjs.v8cache beside it, written by
 * the build (build/bundle-bins.ts runs each binary once with CODE_CACHE_ENV=write). Compiling the
 * 3.4 MB controller bundle, and the functions its imports run, was about 0.1 s of every start's
 * 0.5 s of CPU; with the cache V8 deserializes the code instead.
 *
 * Trusted as the code itself is, so kept only where the code is: a cache is bytecode V8 runs, and
 * one in a shared directory (a temp dir) could be planted by another user. Keyed by the bundle's
 * SHA-256: V8 itself checks only its own version, its flags and the source's length, and bytecode
 * of another bundle of the same length would run as this one. Keyed by the node that wrote it
 * too: V8's version check leaves out the patches node carries on it (process.versions.v8's
 * `-node.N`), which a node upgrade changes with the same V8 version; node keys its own compile
 * cache by its version the same way. And it carries its data's SHA-256: V8 checks no checksum
 * (a release build), and a cache with one bit changed ran or crashed the process. A cache that
 * is missing, of another bundle or node, damaged, or refused by V8 (its V8 flags) only costs the
 * compile it would save.
 *
 * The cache is written at a checkpoint (./code-cache-checkpoint.ts): when the imports are
 * evaluated and before the binary changes any V8 flag (server-tiering.ts), since V8 refuses a
 * cache made under other flags than those it is read under.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export const CODE_CACHE_SUFFIX = '.v8cache';
/** `write`: the checkpoint writes the cache (the build); `report`: it says on stderr what the start did with it. */
export const CODE_CACHE_ENV = 'RAFT_CONTROLLER_CODE_CACHE';
const MAGIC = 'raft-controller v8 code cache 2\n';

/** What a start did with its bundle's cache. */
export type CodeCacheUse = 'accepted' | 'rejected' | 'absent';

export function codeCacheFile(bundle: string): string {
  return bundle + CODE_CACHE_SUFFIX;
}

/** The node a cache is made by and for. */
export function runtimeTag(): string {
  return `node ${process.version} ${process.arch}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Longer than any header: what is read of a cache before its data. */
const HEAD_MAX_BYTES = 512;

/**
 * The cached data written for a bundle whose contents hash to `digest`: null when there is none
 * for these bytes, `refused` when the one for them was written by another node or is damaged
 * (V8 checks no checksum of its own: a byte changed in the data ran, or crashed the process). The
 * header is read first: the data of a cache that is not for these bytes is not read at all.
 */
export function readCodeCache(bundle: string, digest: string): Buffer | 'refused' | null {
  let fd: number;
  try {
    fd = fs.openSync(codeCacheFile(bundle), 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = Buffer.alloc(Math.min(size, HEAD_MAX_BYTES));
    const lines = prefix.toString('latin1', 0, fs.readSync(fd, prefix, 0, prefix.length, 0)).split('\n');
    const [magic, runtime, key, dataDigest] = lines;
    if (`${magic ?? ''}\n` !== MAGIC || key !== digest || dataDigest === undefined || lines.length < 5) return null;
    if (runtime !== runtimeTag()) return 'refused';
    const headBytes = MAGIC.length + runtime.length + key.length + dataDigest.length + 3;
    // A buffer of its own, so aligned as malloc aligns: V8 copies data that is not 8-byte aligned.
    const data = Buffer.allocUnsafeSlow(size - headBytes);
    for (let at = 0; at < data.length; ) {
      const n = fs.readSync(fd, data, at, data.length - at, headBytes + at);
      if (n === 0) return 'refused';
      at += n;
    }
    return data.length > 0 && sha256(data) === dataDigest ? data : 'refused';
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes the cache of the bundle hashing to `digest`, whole or not at all (concurrent builds, a crash). */
export function writeCodeCache(bundle: string, digest: string, data: Uint8Array, runtime = runtimeTag()): void {
  const file = codeCacheFile(bundle);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, Buffer.concat([Buffer.from(`${MAGIC}${runtime}\n${digest}\n${sha256(data)}\n`, 'latin1'), data]));
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
