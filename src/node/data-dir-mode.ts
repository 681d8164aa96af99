/**
 * A data dir only its owner can read. It holds every value ever written (the Raft log, the
 * snapshots), so a directory other local users can enter gives them the cluster's secrets:
 * created 0755 by default, `su nobody` read a stored value out of the log (attack round 7).
 * It is created 0700; one found more open is made 0700, with a warning naming the old mode,
 * as etcd insists on 0700 for its data dir.
 */
import fs from 'node:fs';

export const DATA_DIR_MODE = 0o700;

/** What was done, for the log: null when the directory was already private. */
export interface DataDirTightened {
  readonly code: 'DATA_DIR_OPEN';
  readonly message: string;
}

/** Creates `dir` (0700) or makes an existing one private; throws only what mkdir throws. */
export function ensurePrivateDataDir(dir: string): DataDirTightened | null {
  fs.mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  const mode = fs.statSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  const was = mode.toString(8).padStart(4, '0');
  try {
    fs.chmodSync(dir, mode & ~0o077);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    return { code: 'DATA_DIR_OPEN', message: `data dir ${dir} is mode ${was}: other local users can read every value the cluster stores, and it could not be made 0700 (${why}); run: chmod 700 ${dir}` };
  }
  return { code: 'DATA_DIR_OPEN', message: `data dir ${dir} was mode ${was}, so other local users could read every value the cluster stores; made it ${(mode & ~0o077).toString(8).padStart(4, '0')}` };
}
