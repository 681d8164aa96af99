/**
 * Where `controller restore` writes a data dir before renaming it into place:
 * `<data_dir>.restoring-<pid>`, beside it. A restore killed in between (Ctrl-C, a crash) left
 * that dir behind: a private copy of the whole state that nothing removed (attack round 12). The
 * next restore of the same data dir removes those of processes that no longer run, and the
 * restore command removes its own when it is interrupted.
 */
import fs from 'node:fs';
import path from 'node:path';

const STAGING_SUFFIX = '.restoring-';

/** The staging dir of a restore of `dataDir` by process `pid`. */
export function stagingDirOf(dataDir: string, pid: number): string {
  return `${dataDir.replace(/\/+$/, '')}${STAGING_SUFFIX}${pid}`;
}

/** Whether process `pid` runs (signal 0: EPERM means it runs as another user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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
    const pidText = name.slice(prefix.length);
    if (!/^[1-9]\d*$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (pid === process.pid || runs(pid)) continue;
    const dir = path.join(parent, name);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
