/**
 * The --out file: the configuration the agent accepted, rewritten atomically on each change
 * (write a temporary file beside it, fsync, rename over, fsync the directory), so a reader never
 * sees half a file and a crash leaves the old or the new one, never neither.
 */
import { readdirSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigJson } from './config-state.js';
import { processRuns } from '../util/process-runs.js';

/** The temporary name a process writes `file` under before the rename: one per process, so agents sharing a directory never meet. */
function tempOf(file: string, pid: number): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${pid}.tmp`);
}

export async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = tempOf(file, process.pid);
  const handle = await fs.open(tmp, 'w', 0o644);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    // A full disk must not also keep the half-written copy: it holds the space the next try needs.
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is atomic there.
  } finally {
    await d.close();
  }
}

/**
 * Removes the temporary copies of `file` left by agents that stopped mid-write (killed, or
 * stopped by a signal while a push was being written: attack-operator round 15 found
 * `.edge.json.2584.tmp` beside an agent's --out), one per process id, never removed before.
 * Copies of processes that still run are theirs. Returns the paths removed.
 */
export function sweepStaleTemps(file: string): string[] {
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(path.dirname(file));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length, -'.tmp'.length));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processRuns(pid)) continue;
    const stale = tempOf(file, pid);
    rmSync(stale, { force: true });
    removed.push(stale);
  }
  return removed;
}

export function configText(config: ConfigJson): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
