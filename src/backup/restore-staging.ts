/**
 * Where `controller restore` writes a data dir before renaming it into place:
 * `<data_dir>.restoring-<pid>`, beside it. A restore killed in between (Ctrl-C, a crash) left
 * that dir behind: a private copy of the whole state that nothing removed (attack round 12). The
 * next restore of the same data dir removes those of processes that no longer run, and the
 * restore command removes its own when it is interrupted (discardStaging).
 */
import fs from 'node:fs';
import path from 'node:path';
import { processRuns } from '../util/process-runs.js';

const STAGING_SUFFIX = '.restoring-';

/** The staging dir of a restore of `dataDir` by process `pid`. */
export function stagingDirOf(dataDir: string, pid: number): string {
  return `${dataDir.replace(/\/+$/, '')}${STAGING_SUFFIX}${pid}`;
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

/** Removes the staging dirs of `dataDir` left by restores whose process no longer runs; returns their paths. */
export function removeLeftoverStagings(dataDir: string, runs: (pid: number) => boolean = processRuns): string[] {
  const base = dataDir.replace(/\/+$/, '');
  const parent = path.dirname(base);
  const prefix = `${path.basename(base)}${STAGING_SUFFIX}`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return []; // no parent yet: nothing was left there
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    // PID, or PID.removing: one whose removal was cut short.
    const m = /^([1-9]\d*)(?:\.removing)?$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || runs(pid)) continue;
    const dir = path.join(parent, name);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
