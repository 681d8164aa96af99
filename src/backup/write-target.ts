/**
 * Which paths an atomic write (atomic-file.ts) may replace: a regular file, or nothing yet. The
 * write renames a new file over the path, so whatever else is there would be replaced, not
 * written to: a symbolic link (its target never written: a backup script's `latest.snap ->`
 * link silently broken), a FIFO a reader waits on, a device node (/dev/full as root), a
 * directory. Those are refused by name instead. `-` is refused too: as etcdctl's `snapshot save`
 * does, a snapshot goes to a file (it is verified and renamed into place), never to stdout.
 *
 * A path inside a LevelDB database (a directory holding `CURRENT` and `LOCK`) or inside a
 * controller's data dir (one whose `raft/` is such a database) is refused too, whatever is
 * there: `ctl snapshot save data/c1/raft/CURRENT` replaced a live member's CURRENT and that
 * member then refused to start (LEVEL_CORRUPTION; attack-33 G8). An ordinary existing file is
 * still replaced, as etcdctl does, since scripts save to the same name again and again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileKind } from '../util/bounded-read.js';

const EXPECTED = 'expected a regular file (replaced) or a path that does not exist yet (created)';

/** Why `file` must not be the target of an atomic write, or null when it may be. */
export function writeTargetProblem(file: string): string | null {
  if (file === '') return 'expected a file name; the path is empty';
  // What an unset or badly quoted shell variable leaves: a name of spaces, or one with a newline.
  if (file.trim() === '') return `expected a file name; ${JSON.stringify(file)} is only blanks`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(file)) return `expected a file name; ${JSON.stringify(file)} holds a control character (a newline?)`;
  if (file.endsWith('/')) return `${file} names a directory (it ends in /): expected a file name`;
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) return `the directory ${dir} does not exist: create it first, or name a file in one that does`;
  if (file === '-') return "write to a file; '-' (stdout) is not supported (./- names a file called -)";
  const store = storeHolding(dir);
  if (store !== null) return `${file} is inside ${store}: replacing or adding a file there can keep a controller from starting; write it somewhere else`;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    // Absent is fine; any other failure (no permission, say) is the write's to report.
    return null;
  }
  if (st.isFile()) return null;
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = fs.readlinkSync(file);
    } catch {
      target = '?';
    }
    return `${file} is a symbolic link (-> ${target}): ${EXPECTED}; name the file itself, or remove the link`;
  }
  return `${file} is ${fileKind(st)}: ${EXPECTED}`;
}

function isLevelDb(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'CURRENT')) && fs.existsSync(path.join(dir, 'LOCK'));
}

/**
 * What `dir` or a directory above it is, when it is a LevelDB database or a controller's data
 * dir ("/var/lib/controller/c1, a controller's data dir"); null when none is. Symbolic links
 * are resolved first: a link into a data dir is inside it.
 */
function storeHolding(dir: string): string | null {
  let at: string;
  try {
    at = fs.realpathSync(dir);
  } catch {
    at = dir;
  }
  for (;;) {
    if (isLevelDb(path.join(at, 'raft'))) return `${at}, a controller's data dir`;
    if (isLevelDb(at)) return path.basename(at) === 'raft' ? `${path.dirname(at)}, a controller's data dir` : `${at}, a LevelDB database (it holds CURRENT and LOCK)`;
    const up = path.dirname(at);
    if (up === at) return null;
    at = up;
  }
}

/** Thrown by writeFileAtomic for a target writeTargetProblem refuses. */
export class WriteTargetError extends Error {
  override readonly name = 'WriteTargetError';
}
