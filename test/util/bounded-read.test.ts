/**
 * readRegularFileSync: what a server re-reads while it runs (config and TLS files on SIGHUP) must
 * be a regular file of bounded size. A FIFO in a file's place is refused at once, not waited on;
 * a device is refused before a byte is read; a file over the limit is refused by its size.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { InputTooLargeError, NotRegularFileError, readRegularFileSync } from '../../src/util/bounded-read.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounded-read-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

void t.test('a regular file is read whole, up to the limit', async (t) => {
  const file = path.join(dir, 'ok.txt');
  fs.writeFileSync(file, 'x'.repeat(100));
  t.equal(readRegularFileSync(file, 100).toString(), 'x'.repeat(100));
  t.throws(() => readRegularFileSync(file, 99), new InputTooLargeError(file, 99, 100), 'one byte over: refused by its size');
});

void t.test('a FIFO, a device or a directory is refused, never read', async (t) => {
  const fifo = path.join(dir, 'pipe');
  const made = spawnSync('mkfifo', [fifo]);
  t.equal(made.status, 0, 'mkfifo made the FIFO');
  // With no writer, reading a FIFO would block this process for good: the refusal is immediate.
  t.throws(() => readRegularFileSync(fifo, 1024), new NotRegularFileError('a FIFO (named pipe)'));
  t.throws(() => readRegularFileSync('/dev/zero', 1024), new NotRegularFileError('a character device'));
  t.throws(() => readRegularFileSync(dir, 1024), new NotRegularFileError('a directory'));
  const link = path.join(dir, 'to-zero');
  fs.symlinkSync('/dev/zero', link);
  t.throws(() => readRegularFileSync(link, 1024), new NotRegularFileError('a character device'), 'through a symlink too');
});
