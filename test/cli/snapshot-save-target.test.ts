/**
 * `ctl snapshot save FILE` refuses a target it would replace rather than write (a symbolic link,
 * a FIFO, a directory) and `-`, with exit 2, before it asks any controller: the endpoint here
 * is dead, so asking first would end with exit 3 instead.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { CtlIo } from '../../src/cli/ctl/context.js';
import { runCtl } from '../../src/cli/ctl/program.js';
import { deadAddress } from './fake-controller.js';

async function save(file: string): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const io: CtlIo = { env: {}, out: () => undefined, err: (line) => void err.push(line), now: () => 0, onInterrupt: () => () => undefined };
  const code = await runCtl(['--endpoints', await deadAddress(), '--timeout', '2s', 'snapshot', 'save', file], io);
  return { code, err };
}

void t.test('a symbolic link, a FIFO, a directory, an empty path or -: exit 2 naming it, before any controller is asked', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshot-target-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const link = path.join(dir, 'latest.snap');
  fs.symlinkSync('2026-12-04.snap', link);
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);

  t.strictSame(await save(link), {
    code: 2,
    err: [`ctl: snapshot save FILE: ${link} is a symbolic link (-> 2026-12-04.snap): expected a regular file (replaced) or a path that does not exist yet (created); name the file itself, or remove the link`],
  });
  t.match(await save(fifo), { code: 2, err: [`ctl: snapshot save FILE: ${fifo} is a FIFO (named pipe): expected a regular file`] });
  t.match(await save(dir), { code: 2, err: [`ctl: snapshot save FILE: ${dir} is a directory: expected a regular file`] });
  t.strictSame(await save(''), { code: 2, err: ['ctl: snapshot save FILE: expected a file name; the path is empty'] });
  t.strictSame(await save(`${dir}/new/`), { code: 2, err: [`ctl: snapshot save FILE: ${dir}/new/ names a directory (it ends in /): expected a file name`] });
  t.strictSame(await save(' '), { code: 2, err: ['ctl: snapshot save FILE: expected a file name; " " is only blanks'] });
  t.strictSame(await save('a\n'), { code: 2, err: ['ctl: snapshot save FILE: expected a file name; "a\\n" holds a control character (a newline?)'] });
  t.strictSame(await save(`${dir}/nodir/x.snap`), { code: 2, err: [`ctl: snapshot save FILE: the directory ${dir}/nodir does not exist: create it first, or name a file in one that does`] });
  t.strictSame(await save('-'), { code: 2, err: ["ctl: snapshot save FILE: write to a file; '-' (stdout) is not supported (./- names a file called -)"] });

  // A regular file or a new path gets as far as asking (and the dead endpoint fails it: exit 3).
  fs.writeFileSync(path.join(dir, 'old.snap'), 'old');
  t.match(await save(path.join(dir, 'old.snap')), { code: 3, err: [/^ctl: no endpoint answered/] });
  t.match(await save(path.join(dir, 'new.snap')), { code: 3, err: [/^ctl: no endpoint answered/] });
});

void t.test('a path inside a data dir or a LevelDB database: exit 2 naming it, nothing written, before any controller is asked', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshot-target-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A member's data dir as the controller leaves it (what LevelDB keeps beside its tables).
  const dataDir = path.join(dir, 'data', 'c1');
  const raft = path.join(dataDir, 'raft');
  fs.mkdirSync(raft, { recursive: true });
  for (const name of ['CURRENT', 'LOCK', 'MANIFEST-000002', '000003.log']) fs.writeFileSync(path.join(raft, name), name === 'CURRENT' ? 'MANIFEST-000002\n' : '');
  fs.mkdirSync(path.join(dataDir, 'audit'));
  const otherDb = path.join(dir, 'some.db');
  fs.mkdirSync(otherDb);
  fs.writeFileSync(path.join(otherDb, 'CURRENT'), 'MANIFEST-000001\n');
  fs.writeFileSync(path.join(otherDb, 'LOCK'), '');
  fs.symlinkSync(dataDir, path.join(dir, 'c1-link'));

  const inDataDir = (file: string): string => `ctl: snapshot save FILE: ${file} is inside ${fs.realpathSync(dataDir)}, a controller's data dir: replacing or adding a file there can keep a controller from starting; write it somewhere else`;
  for (const file of [path.join(raft, 'CURRENT'), path.join(raft, 'new.snap'), path.join(dataDir, 'backup.snap'), path.join(dataDir, 'audit', 'x.snap'), path.join(dir, 'c1-link', 'x.snap')]) {
    t.strictSame(await save(file), { code: 2, err: [inDataDir(file)] }, file);
  }
  const inDb = path.join(otherDb, 'x.snap');
  t.strictSame(await save(inDb), {
    code: 2,
    err: [`ctl: snapshot save FILE: ${inDb} is inside ${fs.realpathSync(otherDb)}, a LevelDB database (it holds CURRENT and LOCK): replacing or adding a file there can keep a controller from starting; write it somewhere else`],
  });
  t.equal(fs.readFileSync(path.join(raft, 'CURRENT'), 'utf8'), 'MANIFEST-000002\n', 'CURRENT untouched');
  t.strictSame(fs.readdirSync(raft).sort(), ['000003.log', 'CURRENT', 'LOCK', 'MANIFEST-000002'], 'nothing added');

  // Beside the data dir (data/backups) is fine: it gets as far as asking (dead endpoint: exit 3).
  fs.mkdirSync(path.join(dir, 'data', 'backups'));
  t.match(await save(path.join(dir, 'data', 'backups', 'x.snap')), { code: 3, err: [/^ctl: no endpoint answered/] });
});
