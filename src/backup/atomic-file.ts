/**
 * Writes a file so that it is either absent or complete, also across a crash: a temporary file
 * beside it, fsynced, renamed over the target, and the directory fsynced so the rename lasts.
 * The target must be a regular file or absent (write-target.ts): a rename would replace a
 * symbolic link, FIFO, device or directory instead of writing to it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { WriteTargetError, writeTargetProblem } from './write-target.js';

function checkTarget(file: string): void {
  const problem = writeTargetProblem(file);
  if (problem !== null) throw new WriteTargetError(problem);
}

export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  checkTarget(file);
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.part`);
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    // Again: the path may have changed while the data was written.
    checkTarget(file);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
