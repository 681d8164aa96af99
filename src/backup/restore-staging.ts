/**
 * Where `controller restore` writes a data dir before renaming it into place. A data dir that
 * does not exist yet is written beside it, `<data_dir>.restoring-<pid>`, and that dir renamed to
 * the data dir. One that exists (empty) is filled in place: written inside it,
 * `<data_dir>/.restoring-<pid>`, whose `raft` is renamed to `<data_dir>/raft`. An existing data
 * dir may be a mount point (a disk of its own) or a symbolic link to a directory on one, which no
 * rename can replace: the restore that removed it to rename its copy over it failed on both
 * (`EBUSY`, `ENOTDIR` from rmdir), and a copy beside a mount point is on another file system.
 *
 * A restore killed in between (Ctrl-C, a crash) left that dir behind: a private copy of the
 * whole state that nothing removed (attack round 12). The next restore of the same data dir
 * removes those of processes that no longer run, and the restore command removes its own when it
 * is interrupted (discardStaging). One left behind also keeps a node from bootstrapping a new
 * cluster on the empty data dir (restoreCutShortRefusal).
 */
import fs from 'node:fs';
import path from 'node:path';
import { raftDbPath } from '../storage/paths.js';
import { processRuns } from '../util/process-runs.js';

const STAGING_SUFFIX = '.restoring-';

const withoutTrailingSlash = (dir: string): string => dir.replace(/\/+$/, '');

/** PID, or PID.removing: the rest of a staging dir's name after STAGING_SUFFIX. */
const STAGING_PID = /^([1-9]\d*)(?:\.removing)?$/;

/**
 * True when a restore of `dataDir` fills it in place: it exists (an empty directory, a mount
 * point or a symbolic link to a directory). It stays so for the whole restore, so every caller
 * (the restore, its interruption) names the same staging dir.
 */
export function restoresInPlace(dataDir: string): boolean {
  return fs.existsSync(dataDir);
}

/** The staging dir of a restore of `dataDir` by process `pid`: inside it when it is filled in place, else beside it. */
export function stagingDirOf(dataDir: string, pid: number, inPlace: boolean = restoresInPlace(dataDir)): string {
  const base = withoutTrailingSlash(dataDir);
  return inPlace ? path.join(base, `${STAGING_SUFFIX}${pid}`) : `${base}${STAGING_SUFFIX}${pid}`;
}

/** What a staging dir is renamed to while it is removed. */
const DISCARD_SUFFIX = '.removing';

/**
 * Removes this process's staging dir of `dataDir` while LevelDB's threads may still write into
 * it: renamed first (atomic), so a file they create afterwards fails for want of its directory
 * instead of landing in the dir being removed (removed in place, ENOTEMPTY under load, e2e in
 * CI). Returns why it could not be removed, or null (removed, or there was none).
 */
export function discardStaging(dataDir: string, pid: number): string | null {
  const staging = stagingDirOf(dataDir, pid);
  const doomed = `${staging}${DISCARD_SUFFIX}`;
  try {
    fs.renameSync(staging, doomed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `could not move ${staging} aside: ${(err as Error).message}`;
  }
  try {
    fs.rmSync(doomed, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    return null;
  } catch (err) {
    return `could not remove ${doomed}: ${(err as Error).message}`;
  }
}

/** The dirs in `dir` whose names are `prefix` and a pid (or `.removing` after it) of a process that no longer runs. */
function deadStagingsIn(dir: string, prefix: string, runs: (pid: number) => boolean): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return []; // no such dir (yet), or not a directory: nothing was left there
  }
  const left: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = STAGING_PID.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || runs(pid)) continue;
    left.push(path.join(dir, name));
  }
  return left;
}

/**
 * The staging dirs of `dataDir` left by restores whose process no longer runs (cut short): those
 * beside it and those inside it, wherever the data dir was when each restore began.
 */
export function leftoverStagings(dataDir: string, runs: (pid: number) => boolean = processRuns): string[] {
  const base = withoutTrailingSlash(dataDir);
  return [...deadStagingsIn(path.dirname(base), `${path.basename(base)}${STAGING_SUFFIX}`, runs), ...deadStagingsIn(base, STAGING_SUFFIX, runs)];
}

/** Removes the staging dirs of `dataDir` left by restores whose process no longer runs; returns their paths. */
export function removeLeftoverStagings(dataDir: string, runs: (pid: number) => boolean = processRuns): string[] {
  const removed = leftoverStagings(dataDir, runs);
  for (const dir of removed) fs.rmSync(dir, { recursive: true, force: true });
  return removed;
}

/**
 * Removes the empty staging dirs a finished in-place restore left inside `dataDir`: the restore
 * renames its Raft database in and then removes its staging dir, and a crash between the two left
 * that dir empty, which the data dir's mode check took for a stranger's file (it left the dir as it
 * was and called it shared). Only once the data dir holds its Raft database: an empty leftover
 * beside no database is a restore cut short, which a start refuses (restoreCutShortRefusal).
 * Returns the paths removed; a non-empty one is left for the next restore.
 */
export function removeFinishedRestoreLeftovers(dataDir: string, runs: (pid: number) => boolean = processRuns): string[] {
  if (!fs.existsSync(raftDbPath(dataDir))) return [];
  const base = withoutTrailingSlash(dataDir);
  const removed: string[] = [];
  for (const dir of deadStagingsIn(base, STAGING_SUFFIX, runs)) {
    try {
      fs.rmdirSync(dir);
      removed.push(dir);
    } catch {
      // Not empty (or gone already): not ours to remove here.
    }
  }
  return removed;
}

/**
 * Why a node must not bootstrap on `dataDir`: a restore into it was cut short (killed, Ctrl-C
 * past its clean-up, a crash), so the dir is empty and a start would bootstrap a new, empty
 * cluster where the operator meant the restored one (ops54); null when none was.
 */
export function restoreCutShortRefusal(dataDir: string, runs: (pid: number) => boolean = processRuns): string | null {
  const left = leftoverStagings(dataDir, runs);
  if (left.length === 0) return null;
  return (
    `data dir ${dataDir} is empty, but a \`controller restore\` into it was cut short (it left ${left.join(', ')}, and its process no longer runs): ` +
    'starting now would bootstrap a new, empty cluster instead of the restored one. Run the restore again (it removes what the cut-short one left), ' +
    `or, to start a new cluster on purpose, delete ${left.length === 1 ? 'that dir' : 'those dirs'} first`
  );
}
