/**
 * The --out file: the configuration the agent accepted, rewritten atomically on each change
 * (write a temporary file beside it, fsync, rename over, fsync the directory), so a reader never
 * sees half a file and a crash leaves the old or the new one, never neither.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigJson } from './config-state.js';

export async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
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

export function configText(config: ConfigJson): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
