/**
 * `controller restore` into a data dir that exists and cannot be replaced by a rename: a mount
 * point (a disk of its own, deploy.md's /var/lib/controller/${id}) or a symbolic link to a
 * directory on one. The restore renamed its copy over the data dir after an rmdir of it, so it
 * failed on both with the system's words only (`could not write D: EBUSY: resource busy or
 * locked, rmdir 'D'`; `ENOTDIR: not a directory, rmdir 'D'`, exit 1), and measured the free
 * space of the parent's file system, not the data dir's. It now fills an existing data dir in
 * place: its copy is written inside it and renamed into place there. A mount needs root, so
 * these tests use a symbolic link, which takes the same path; a fresh file system's empty
 * `lost+found` does not make the data dir "not empty" either.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { restoreCutShortRefusal } from '../../src/backup/restore-staging.js';
import { encodeSnapshotFile } from '../../src/backup/snapshot-file.js';
import { freePorts } from '../helpers/free-ports.js';
import { CONTROLLER_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { SNAPSHOT_DATA, SNAPSHOT_HEADER } from '../helpers/snapshot-fixture.js';

interface Setup {
  readonly dir: string;
  readonly dataDir: string;
  readonly restore: () => Promise<{ code: number; stderr: string }>;
}

async function setUp(t: Test): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-in-place-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const snap = path.join(dir, 'backup.snap');
  fs.writeFileSync(snap, encodeSnapshotFile(SNAPSHOT_HEADER, SNAPSHOT_DATA));
  const [port] = await freePorts(1);
  const dataDir = path.join(dir, 'data', 'c1');
  const config = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(config, `cluster:\n  name: prod\n  nodes:\n    - { id: c1, address: 127.0.0.1:${port} }\ncontroller:\n  data_dir: ${path.join(dir, 'data', '${id}')}\n`);
  const restore = async (): Promise<{ code: number; stderr: string }> => {
    const r = await runToExit(CONTROLLER_JS, ['restore', '--from', snap, '--config', config, '--id', 'c1'], 'controller restore', 30_000);
    return { code: r.code, stderr: r.stderr };
  };
  return { dir, dataDir, restore };
}

/** Names in `dir` that a restore's copy of the state would leave (`.restoring-PID`, `c1.restoring-PID`). */
function stagings(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.includes('.restoring-'));
}

void t.test('a data dir that is a symbolic link to an empty directory is restored into its target, the link kept', async (t) => {
  const { dir, dataDir, restore } = await setUp(t);
  const disk = path.join(dir, 'disk', 'c1');
  fs.mkdirSync(disk, { recursive: true });
  fs.mkdirSync(path.dirname(dataDir));
  fs.symlinkSync(disk, dataDir);
  const r = await restore();
  t.equal(r.code, 0, r.stderr);
  t.ok(fs.lstatSync(dataDir).isSymbolicLink(), 'the data dir is still the link');
  t.ok(fs.existsSync(path.join(disk, 'raft', 'CURRENT')), 'the state is on the disk the link names');
  t.same(stagings(disk), [], 'no copy left inside');
  t.same(stagings(path.dirname(dataDir)), [], 'no copy left beside');
  t.equal((fs.statSync(path.join(disk, 'raft')).mode & 0o077), 0, "the restored raft dir is the owner's alone");
});

void t.test("an empty data dir holding only a fresh file system's empty lost+found is restored, lost+found kept", async (t) => {
  const { dataDir, restore } = await setUp(t);
  fs.mkdirSync(path.join(dataDir, 'lost+found'), { recursive: true });
  const r = await restore();
  t.equal(r.code, 0, r.stderr);
  t.same(fs.readdirSync(dataDir).sort(), ['lost+found', 'raft']);
  t.ok(fs.existsSync(path.join(dataDir, 'raft', 'CURRENT')));
});

void t.test('a lost+found that holds something, or any other entry, still makes the data dir not empty', async (t) => {
  const { dataDir, restore } = await setUp(t);
  fs.mkdirSync(path.join(dataDir, 'lost+found'), { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'lost+found', '#12'), 'a recovered fragment');
  const r = await restore();
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, `refusing to restore into ${dataDir}: it is not empty`);
  t.notOk(fs.existsSync(path.join(dataDir, 'raft')), 'nothing written');
});

void t.test('a restore cut short inside an existing data dir stops a bootstrap, and the next restore removes it', async (t) => {
  const { dataDir, restore } = await setUp(t);
  const gonePid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const leftover = path.join(dataDir, `.restoring-${gonePid}`);
  fs.mkdirSync(path.join(leftover, 'raft'), { recursive: true });
  fs.writeFileSync(path.join(leftover, 'raft', '000005.ldb'), 'state');
  t.match(restoreCutShortRefusal(dataDir), `a \`controller restore\` into it was cut short (it left ${leftover}`);
  const r = await restore();
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, `removed ${leftover}, left by an interrupted restore`);
  t.same(fs.readdirSync(dataDir), ['raft']);
  t.equal(restoreCutShortRefusal(dataDir), null, 'nothing cut short once restored');
});
