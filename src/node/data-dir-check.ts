/**
 * Whether `controller.data_dir` can be used, asked before anything starts. Creating it later
 * failed with Node's words and exit 1: a recursive mkdir under a read-only file system reports
 * ENOENT ("no such file or directory"), under a regular file ENOTDIR. Here the path is walked
 * up to the deepest part that exists, and the answer says which part is wrong and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/index.js';

export type PathKind = 'dir' | 'file' | 'dangling' | 'other' | 'missing';

/** The file system as the check sees it (a fake one in tests: root may write anywhere). */
export interface PathProbe {
  kind(p: string): PathKind;
  /** The errno code that keeps this process from creating entries in directory `p`; null if none. */
  notWritable(p: string): string | null;
  /**
   * The errno code with which creating a directory in `p` fails, tried and undone; null when it
   * works. Permissions do not tell it all: root may "write" to /proc, where no mkdir succeeds
   * (and Node's recursive mkdir there never returned).
   */
  cannotCreateIn(p: string): string | null;
}

export const nodeProbe: PathProbe = {
  kind(p) {
    try {
      const st = fs.statSync(p);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      // A symbolic link to nothing (an unmounted volume's mount point, say) is not missing: a
      // mkdir through it fails with ENOENT.
      try {
        if (fs.lstatSync(p).isSymbolicLink()) return 'dangling';
      } catch {
        // missing indeed
      }
      return 'missing'; // ENOENT, or ENOTDIR under a file: the walk up finds the file
    }
  },
  cannotCreateIn(p) {
    try {
      fs.rmdirSync(fs.mkdtempSync(path.join(p, '.data-dir-check-')));
      return null;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? 'unknown error';
    }
  },
  notWritable(p) {
    try {
      fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK);
      return null;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? 'unknown error';
    }
  },
};

function cause(code: string): string {
  switch (code) {
    case 'EROFS':
      return 'it is on a read-only file system';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    default:
      return code;
  }
}

/** Why `dir` cannot be a data dir (exist as a writable directory, or be created), or null. */
export function dataDirProblem(dir: string, probe: PathProbe = nodeProbe): string | null {
  const target = path.resolve(dir);
  const own = probe.kind(target);
  if (own === 'file') return 'it is a regular file, not a directory';
  if (own === 'other') return 'it is not a directory';
  let existing = target;
  while (probe.kind(existing) === 'missing' && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const kind = probe.kind(existing);
  if (kind === 'dangling') return `cannot create it: ${existing} is a symbolic link to something that does not exist (a volume not mounted?)`;
  if (kind !== 'dir') return `cannot create it: a parent, ${existing}, is ${kind === 'file' ? 'a regular file' : 'not a directory'}`;
  const denied = probe.notWritable(existing);
  if (denied !== null) return existing === target ? `not writable: ${cause(denied)}` : `cannot create it: ${existing} is not writable: ${cause(denied)}`;
  if (existing === target) return null;
  const refused = probe.cannotCreateIn(existing);
  return refused === null ? null : `cannot create it: no directory can be made in ${existing} (${cause(refused)})`;
}

/** Refuses an unusable data dir as a config error: exit 2 naming the key, the path and the cause. */
export function checkDataDir(file: string, dataDir: string): void {
  const problem = dataDirProblem(dataDir);
  if (problem !== null) throw new ConfigError(file, [{ keyPath: 'controller.data_dir', reason: `${dataDir}: ${problem}`, line: null }]);
}
