/**
 * Which paths an atomic write (atomic-file.ts) may replace: a regular file, or nothing yet. The
 * write renames a new file over the path, so whatever else is there would be replaced, not
 * written to: a symbolic link (its target never written: a backup script's `latest.snap ->`
 * link silently broken), a FIFO a reader waits on, a device node (/dev/full as root), a
 * directory. Those are refused by name instead. `-` is refused too: as etcdctl's `snapshot save`
 * does, a snapshot goes to a file (it is verified and renamed into place), never to stdout.
 */
import fs from 'node:fs';
import path from 'node:path';

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
  return `${file} is ${kindOf(st)}: ${EXPECTED}`;
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Thrown by writeFileAtomic for a target writeTargetProblem refuses. */
export class WriteTargetError extends Error {
  override readonly name = 'WriteTargetError';
}
