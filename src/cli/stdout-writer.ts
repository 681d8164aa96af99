/**
 * How ctl writes its output. Node writes a stdout that is a regular file with one write(2) per
 * chunk and ignores a short count: on a disk with less room than the output, the kernel wrote
 * what fitted, Node dropped the rest, and `ctl kv get k > file` exited 0 with the file cut short
 * (attack-operator round 16: 191 of 8,000 bytes). So a file is written here until every byte is
 * in, which makes a full disk show as ENOSPC; any failure to write the output ends ctl at once
 * with one line and exit 1 (EPIPE, a reader gone: exit 0 quietly, `| head`).
 */
import fs from 'node:fs';
import { EXIT_FAILED } from '../api/errors.js';

/** Ends the process for a failure to write the output. */
export function outputFailed(err: NodeJS.ErrnoException): never {
  if (err.code === 'EPIPE') process.exit(0);
  process.stderr.write(`ctl: cannot write the output to stdout: ${err.message}\n`);
  process.exit(EXIT_FAILED);
}

/** Writes all of `bytes` to `fd` (write(2) may take fewer); throws the write's error. */
export function writeAllSync(fd: number, bytes: Uint8Array, write: typeof fs.writeSync = fs.writeSync): void {
  let done = 0;
  while (done < bytes.length) {
    const n = write(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw Object.assign(new Error(`write returned ${n} with ${bytes.length - done} bytes left`), { code: 'EIO' });
    done += n;
  }
}

function stdoutIsFile(): boolean {
  try {
    return fs.fstatSync(1).isFile();
  } catch {
    return false;
  }
}

/** ctl's `out`: for a regular file, every byte or a failure; otherwise process.stdout. */
export function stdoutWriter(): (text: string | Uint8Array) => void {
  if (!stdoutIsFile()) return (text) => void process.stdout.write(text);
  return (text) => {
    try {
      writeAllSync(1, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
    } catch (err) {
      outputFailed(err as NodeJS.ErrnoException);
    }
  };
}
