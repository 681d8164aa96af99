/** Free bytes of the file system holding a directory, as an unprivileged process may use them. */
import fs from 'node:fs/promises';

/** How often a controller reads its data dir's free disk (src/api/disk-floor.ts). */
export const DISK_READ_EVERY_MS = 1_000;

/** A reading older than this is not carried on pongs (statfs stopped answering): three reads missed. */
export const DISK_READING_CARRIED_MS = 3 * DISK_READ_EVERY_MS;

/** statfs's bavail x bsize; null when it cannot be read (the dir removed under it, say: the next write says why). */
export async function readDiskFree(dir: string): Promise<number | null> {
  try {
    const st = await fs.statfs(dir);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}
