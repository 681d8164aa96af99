/**
 * Where the resources cache lives: one file per member under `<data_dir>/resources/`, mode
 * 0600 in a 0700 directory (machine details are nobody else's business), each rewritten
 * atomically (a temporary file, fsync, rename), so a crash leaves the old file or the new one,
 * never half of one. The files of members no longer in the cluster are deleted when asked
 * (`retainOnly`): a removed member's machine is no longer the cluster's business either.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { decodeCacheEntry, encodeCacheEntry, MAX_CACHE_FILE_BYTES, type CacheEntry } from './cache-entry.js';
import { ResourcesError } from './errors.js';

export type CacheRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'found'; readonly entry: CacheEntry };

/** The cache as the gatherer sees it; tests use an in-memory one. */
export interface ResourcesCacheStore {
  read(member: string): Promise<CacheRead>;
  write(entry: CacheEntry): Promise<void>;
  /** Deletes the cache of every member not in `members`. */
  retainOnly(members: ReadonlySet<string>): Promise<void>;
}

export const CACHE_FILE_MODE = 0o600;
export const CACHE_DIR_MODE = 0o700;

/** `<data_dir>/resources`. */
export function resourcesCacheDir(dataDir: string): string {
  return path.join(dataDir, 'resources');
}

const PLAIN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** A file name for any member id: the id itself when it is plain, else a hash of it. */
export function cacheFileName(member: string): string {
  return PLAIN_ID.test(member) ? `${member}.json` : `id-${createHash('sha256').update(member).digest('hex').slice(0, 32)}.json`;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

export class FileCacheStore implements ResourcesCacheStore {
  private seq = 0;

  constructor(readonly dir: string) {}

  fileOf(member: string): string {
    return path.join(this.dir, cacheFileName(member));
  }

  async read(member: string): Promise<CacheRead> {
    const file = this.fileOf(member);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { kind: 'missing' };
      return { kind: 'corrupt', reason: `${file}: unreadable (${err instanceof Error ? err.message : String(err)})` };
    }
    try {
      const { size } = await handle.stat();
      if (size > MAX_CACHE_FILE_BYTES) return { kind: 'corrupt', reason: `${file}: expected at most ${MAX_CACHE_FILE_BYTES} bytes, found ${size}` };
      const text = await handle.readFile('utf8');
      return { kind: 'found', entry: decodeCacheEntry(text, member, file) };
    } catch (err) {
      if (err instanceof ResourcesError) return { kind: 'corrupt', reason: err.message };
      return { kind: 'corrupt', reason: `${file}: unreadable (${err instanceof Error ? err.message : String(err)})` };
    } finally {
      await handle.close();
    }
  }

  async retainOnly(members: ReadonlySet<string>): Promise<void> {
    const keep = new Set([...members].map(cacheFileName));
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    // Only cache files: a temporary one may be a write in progress.
    const stale = names.filter((n) => n.endsWith('.json') && !keep.has(n));
    await Promise.all(stale.map((n) => fs.rm(path.join(this.dir, n), { force: true })));
  }

  async write(entry: CacheEntry): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: CACHE_DIR_MODE });
    const file = this.fileOf(entry.member);
    const tmp = `${file}.${process.pid}.${++this.seq}.tmp`;
    const handle = await fs.open(tmp, 'w', CACHE_FILE_MODE);
    try {
      // The mode given to open() is masked by the umask; set it outright.
      await handle.chmod(CACHE_FILE_MODE);
      await handle.writeFile(encodeCacheEntry(entry), 'utf8');
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await fs.rename(tmp, file);
  }
}
