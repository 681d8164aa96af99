/**
 * An unusable controller.data_dir is refused at start as a config error (exit 2) naming the
 * key, the path and the real cause, without a stack trace. Before, a read-only file system read
 * "ENOENT: no such file or directory, mkdir" (Node's recursive mkdir) and a parent that is a
 * file a raw ENOTDIR, both exit 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { dataDirProblem, type PathKind, type PathProbe } from '../../src/node/data-dir-check.js';
import { freePorts } from '../helpers/free-ports.js';
import { CONTROLLER_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

/** A file system of the paths given; every other path is missing. */
function fakeFs(kinds: Readonly<Record<string, PathKind>>, denied: Readonly<Record<string, string>> = {}, noMkdir: Readonly<Record<string, string>> = {}): PathProbe {
  return { kind: (p) => kinds[p] ?? 'missing', notWritable: (p) => denied[p] ?? null, cannotCreateIn: (p) => noMkdir[p] ?? null };
}

void t.test('a data dir under a read-only file system names the read-only parent, not ENOENT', async (t) => {
  const ro = fakeFs({ '/': 'dir', '/tmp': 'dir', '/tmp/x': 'dir' }, { '/tmp/x': 'EROFS' });
  t.equal(dataDirProblem('/tmp/x/s1', ro), 'cannot create it: /tmp/x is not writable: it is on a read-only file system');
  t.equal(dataDirProblem('/tmp/x', ro), 'not writable: it is on a read-only file system', 'the data dir itself');
});

void t.test('permission denied, a parent that is a file, the data dir a file, and usable dirs', async (t) => {
  const probe = fakeFs({ '/': 'dir', '/srv': 'dir', '/srv/f': 'file', '/dev': 'dir', '/dev/null': 'other' }, { '/srv': 'EACCES' });
  t.equal(dataDirProblem('/srv/a/b', probe), 'cannot create it: /srv is not writable: permission denied (EACCES)');
  t.equal(dataDirProblem('/srv/f/x', probe), 'cannot create it: a parent, /srv/f, is a regular file');
  t.equal(dataDirProblem('/srv/f', probe), 'it is a regular file, not a directory');
  t.equal(dataDirProblem('/dev/null', probe), 'it is not a directory');
  t.equal(dataDirProblem('/new/a', probe), null, 'creatable under a writable root');
  t.equal(dataDirProblem('/dev', probe), null, 'an existing writable directory');
});

void t.test('a parent where no mkdir succeeds (/proc), and a dangling symbolic link', async (t) => {
  const probe = fakeFs({ '/': 'dir', '/proc': 'dir', '/mnt': 'dir', '/mnt/vol': 'dangling' }, {}, { '/proc': 'ENOENT' });
  t.equal(dataDirProblem('/proc/x/c1', probe), 'cannot create it: no directory can be made in /proc (ENOENT)');
  t.equal(dataDirProblem('/mnt/vol/c1', probe), 'cannot create it: /mnt/vol is a symbolic link to something that does not exist (a volume not mounted?)');
});

void t.test('the real file system: /proc, where a recursive mkdir never returned, and a dangling link', async (t) => {
  // As root, /proc passes the permission check and refuses the mkdir; as anyone else, the permission check.
  t.match(dataDirProblem('/proc/x/c1'), /^cannot create it: (no directory can be made in \/proc \(|\/proc is not writable)/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-link-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'vol'));
  t.equal(dataDirProblem(path.join(dir, 'vol', 'c1')), `cannot create it: ${path.join(dir, 'vol')} is a symbolic link to something that does not exist (a volume not mounted?)`);
  t.same(fs.readdirSync(dir), ['vol'], 'the check leaves nothing behind');
});

void t.test('the real file system: a data dir under a regular file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-check-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'file'), '');
  t.equal(dataDirProblem(path.join(dir, 'file', 's1')), `cannot create it: a parent, ${path.join(dir, 'file')}, is a regular file`);
  t.equal(dataDirProblem(path.join(dir, 'new', 's1')), null);
});

void t.test('controller: a data_dir under a regular file exits 2 naming controller.data_dir, the path and the cause', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-dir-start-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const blocker = path.join(dir, 'x');
  fs.writeFileSync(blocker, 'a regular file');
  const [port] = await freePorts(1);
  const config = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(config, `cluster:\n  nodes:\n    - { id: s1, address: "127.0.0.1:${port}" }\ncontroller:\n  data_dir: ${blocker}/\${id}\n`);
  const run = await runToExit(CONTROLLER_JS, ['--config', config, '--id', 's1'], 'controller', 20_000, { PATH: process.env['PATH'] ?? '' });
  t.equal(run.code, 2);
  t.equal(run.stderr, `controller: ${config}: controller.data_dir: ${blocker}/s1: cannot create it: a parent, ${blocker}, is a regular file\n`);
  t.notMatch(run.stdout, /stack|ENOTDIR/, 'no stack trace, no raw errno in the log');
  // The offline tools that write the same data dir say the same, before touching anything.
  for (const tool of ['restore', 'recover'] as const) {
    const args = tool === 'restore' ? ['restore', '--from', path.join(dir, 'snapshot.db')] : ['recover'];
    const offline = await runToExit(CONTROLLER_JS, [...args, '--config', config, '--id', 's1'], `controller ${tool}`, 20_000, { PATH: process.env['PATH'] ?? '' });
    t.equal(offline.code, 2, `controller ${tool}: exit 2`);
    t.equal(offline.stderr, `controller ${tool}: ${config}: controller.data_dir: ${blocker}/s1: cannot create it: a parent, ${blocker}, is a regular file\n`);
  }
});
