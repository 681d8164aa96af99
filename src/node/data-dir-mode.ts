/**
 * A data dir only its owner can read. It holds every value ever written (the Raft log, the
 * snapshots), so a directory other local users can enter gives them the cluster's secrets:
 * created 0755 by default, `su nobody` read a stored value out of the log (attack round 7).
 *
 * It is created 0700. One found more open is made 0700 only when it is plainly this
 * controller's: owned by this process's user, holding nothing but what a controller writes
 * (`raft`, `audit`, `resources`; `lost+found` at a file system's root), with no sticky, setuid
 * or setgid bit. Anything else is a directory shared with others (`data_dir: /tmp`, or
 * `/var/lib` without the member's own subdirectory): chmod would lock other users and services
 * out of their own files and drop /tmp's sticky bit (attack round 8), so it is left as it is and
 * the warning says why and what to do. etcd likewise warns about a data dir it did not create.
 */
import fs from 'node:fs';
import path from 'node:path';
import { quotedList } from '../util/quoted-list.js';

export const DATA_DIR_MODE = 0o700;

/** What a controller writes in its data dir (storage/paths.ts, audit-store.ts, resources/cache-store.ts). */
const OWN_ENTRIES: ReadonlySet<string> = new Set(['raft', 'audit', 'resources', 'lost+found']);

/** What was found, for the log: null when the directory is private (or was just made so quietly). */
export interface DataDirNote {
  readonly code: 'DATA_DIR_OPEN' | 'DATA_DIR_SHARED';
  readonly message: string;
}

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** Why `dir` is not plainly this controller's own, or null. */
function sharedBecause(dir: string, st: fs.Stats): string | null {
  const special = st.mode & 0o7000;
  if (special !== 0) return `it has the ${[(special & 0o1000) !== 0 ? 'sticky' : '', (special & 0o2000) !== 0 ? 'setgid' : '', (special & 0o4000) !== 0 ? 'setuid' : ''].filter((b) => b !== '').join(' and ')} bit (a directory shared with others, like /tmp)`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `it belongs to uid ${st.uid}, not to this process's user (uid ${uid})`;
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    return `its entries cannot be listed (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  const others = entries.filter((name) => !OWN_ENTRIES.has(name)).sort();
  if (others.length > 0) {
    return `it holds files a controller does not write (${quotedList(others)}): is controller.data_dir meant to name a directory of this member's own, such as ${path.join(dir, '<id>')}?`;
  }
  return null;
}

/** What preparing the data dir found, and the directories it created, outermost first (empty: `dir` existed). */
export interface PreparedDataDir {
  readonly note: DataDirNote | null;
  readonly created: readonly string[];
}

/** Creates `dir` (0700), or makes an existing one private when it is plainly this controller's; throws only what mkdir throws. */
export function ensurePrivateDataDir(dir: string): PreparedDataDir {
  if (!fs.existsSync(dir)) {
    const created = mkdirRecording(dir);
    // `a/../b` with `a` missing names an existing `b` the kernel could not reach before `a` was made.
    if (created.at(-1) === dir) return { note: null, created };
    return { note: privateExisting(dir), created };
  }
  return { note: privateExisting(dir), created: [] };
}

/**
 * mkdir -p that records each directory it made itself, spelled as it was made. Neither a
 * lexical path.resolve nor the one path mkdir's recursive mode returns can say that: through
 * `..` after a missing or symlinked component, the directories made are not the lexical parents
 * of `dir` (`new/../kept` makes `new` only; `link/../x` makes `x` beside the link's target).
 */
function mkdirRecording(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) {
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  const created: string[] = [];
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode: DATA_DIR_MODE });
      created.push(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile, or reached through `..`: not ours
    }
  }
  return created;
}

/**
 * Undoes what a refused start created: the directories `ensurePrivateDataDir` made, innermost
 * first, each only while empty, spelled as they were made. An empty directory left behind where
 * a typo in data_dir pointed misleads the next look (and a member's real data dir moved back
 * would land inside it).
 */
export function removeCreatedDataDir(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty (or gone): what is left is not only ours to remove
    }
  }
}

function privateExisting(dir: string): DataDirNote | null {
  const st = fs.statSync(dir);
  const shared = sharedBecause(dir, st);
  const open = (st.mode & 0o077) !== 0;
  if (shared !== null) {
    return { code: 'DATA_DIR_SHARED', message: `data dir ${dir} (mode ${octal(st.mode & 0o7777)}) is left as it is: ${shared}${open ? '; other local users may read every value the cluster stores in it' : ''}` };
  }
  if (!open) return null;
  const mode = st.mode & 0o777;
  try {
    fs.chmodSync(dir, mode & ~0o077);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    return { code: 'DATA_DIR_OPEN', message: `data dir ${dir} is mode ${octal(mode)}: other local users can read every value the cluster stores, and it could not be made 0700 (${why}); run: chmod 700 ${dir}` };
  }
  return { code: 'DATA_DIR_OPEN', message: `data dir ${dir} was mode ${octal(mode)}, so other local users could read every value the cluster stores; made it ${octal(mode & ~0o077)}` };
}
