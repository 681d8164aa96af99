/**
 * writeFileAtomic (src/backup/atomic-file.ts) writes a regular file or a new path; a symbolic
 * link, FIFO or directory at the path is refused by name and left as it was, since the rename
 * would replace it rather than write to it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { writeFileAtomic } from '../../src/backup/atomic-file.js';
import { WriteTargetError, writeTargetProblem } from '../../src/backup/write-target.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-file-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What the directory holds besides `expected`: a leftover temporary file would show here. */
function others(dir: string, expected: readonly string[]): string[] {
  return fs.readdirSync(dir).filter((name) => !expected.includes(name));
}

void t.test('a new path is created, and a regular file is replaced whole', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a.snap');
  await writeFileAtomic(file, bytes('first'));
  t.equal(fs.readFileSync(file, 'utf8'), 'first');
  await writeFileAtomic(file, bytes('second, longer'));
  t.equal(fs.readFileSync(file, 'utf8'), 'second, longer');
  t.ok(fs.lstatSync(file).isFile());
  t.strictSame(others(dir, ['a.snap']), [], 'no temporary file left');
});

void t.test('a symbolic link is refused, naming where it points; neither the link nor its target is touched', async (t) => {
  const dir = tempDir(t);
  const target = path.join(dir, 'target.snap');
  const link = path.join(dir, 'link.snap');
  fs.symlinkSync('target.snap', link);
  await t.rejects(writeFileAtomic(link, bytes('x')), new WriteTargetError(`${link} is a symbolic link (-> target.snap): expected a regular file (replaced) or a path that does not exist yet (created); name the file itself, or remove the link`));
  t.ok(fs.lstatSync(link).isSymbolicLink(), 'still a link');
  t.notOk(fs.existsSync(target), 'its target not written either');
  fs.writeFileSync(target, 'kept');
  await t.rejects(writeFileAtomic(link, bytes('x')), WriteTargetError, 'a link to an existing file too');
  t.equal(fs.readFileSync(target, 'utf8'), 'kept');
  t.strictSame(others(dir, ['link.snap', 'target.snap']), [], 'no temporary file left');
});

void t.test('a FIFO and a directory are refused by what they are, and left as they were', async (t) => {
  const dir = tempDir(t);
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  await t.rejects(writeFileAtomic(fifo, bytes('x')), { name: 'WriteTargetError', message: `${fifo} is a FIFO (named pipe): expected a regular file (replaced) or a path that does not exist yet (created)` });
  t.ok(fs.lstatSync(fifo).isFIFO(), 'still a FIFO');
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  await t.rejects(writeFileAtomic(sub, bytes('x')), { name: 'WriteTargetError', message: `${sub} is a directory: expected a regular file (replaced) or a path that does not exist yet (created)` });
  t.ok(fs.lstatSync(sub).isDirectory(), 'still a directory');
  t.strictSame(others(dir, ['fifo', 'sub']), [], 'no temporary file left');
});

void t.test("'-' is not stdout: refused", async (t) => {
  t.equal(writeTargetProblem('-'), "write to a file; '-' (stdout) is not supported (./- names a file called -)");
  t.equal(writeTargetProblem(path.join(tempDir(t), 'new.snap')), null, 'a path that does not exist yet is fine');
});
