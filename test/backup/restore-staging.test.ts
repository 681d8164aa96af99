/** The staging dirs an interrupted `controller restore` leaves beside the data dir (src/backup/restore-staging.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { discardStaging, removeFinishedRestoreLeftovers, removeLeftoverStagings, restoreCutShortRefusal, stagingDirOf } from '../../src/backup/restore-staging.js';
import { processRuns } from '../../src/util/process-runs.js';

void t.test("the next restore removes the staging dirs of restores that no longer run, and only those", async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-staging-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'c1');
  const dead = stagingDirOf(dataDir, 4242);
  const alive = stagingDirOf(dataDir, 4343);
  const own = stagingDirOf(dataDir, process.pid);
  const otherMember = stagingDirOf(path.join(parent, 'c10'), 4242);
  const notOurs = `${dataDir}.restoring-old`;
  const cutShort = `${stagingDirOf(dataDir, 4444)}.removing`;
  for (const dir of [dead, alive, own, otherMember, notOurs, cutShort]) fs.mkdirSync(path.join(dir, 'raft'), { recursive: true });

  const removed = removeLeftoverStagings(`${dataDir}/`, (pid) => pid === 4343);
  t.same(removed.sort(), [dead, cutShort].sort(), "only the dead restores' dirs of this data dir, one whose removal was cut short among them");
  t.notOk(fs.existsSync(dead));
  t.notOk(fs.existsSync(cutShort));
  for (const dir of [alive, own, otherMember, notOurs]) t.ok(fs.existsSync(dir), `${path.basename(dir)} is kept`);
});

void t.test('a data dir whose parent does not exist yet has nothing left', async (t) => {
  t.same(removeLeftoverStagings(path.join(os.tmpdir(), 'no-such-parent-dir', 'c1')), []);
});

void t.test('processRuns: this process runs, an exited one does not', async (t) => {
  t.ok(processRuns(process.pid));
  const { spawnSync } = await import('node:child_process');
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  t.notOk(processRuns(Number(child.stdout)), 'a child that exited (its pid not reused this instant)');
});

void t.test("discardStaging removes this process's staging dir, and nothing when there is none", async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-discard-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'c1');
  const staging = stagingDirOf(dataDir, process.pid);
  fs.mkdirSync(path.join(staging, 'raft'), { recursive: true });
  fs.writeFileSync(path.join(staging, 'raft', '000005.ldb'), 'state');
  t.equal(discardStaging(dataDir, process.pid), null);
  t.same(fs.readdirSync(parent), [], 'neither the dir nor its renamed form is left');
  t.equal(discardStaging(dataDir, process.pid), null, 'none: nothing to do');
});

void t.test('a node does not bootstrap on a data dir whose restore was cut short; a running restore, or none, does not stop it', async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-cut-short-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'c1');
  t.equal(restoreCutShortRefusal(dataDir, () => false), null, 'no restore was ever run');
  const staging = stagingDirOf(dataDir, 4242);
  fs.mkdirSync(path.join(staging, 'raft'), { recursive: true });
  t.equal(restoreCutShortRefusal(dataDir, (pid) => pid === 4242), null, 'the restore still runs: it is not cut short');
  const refusal = restoreCutShortRefusal(dataDir, () => false);
  t.match(refusal, `a \`controller restore\` into it was cut short (it left ${staging}`);
  t.match(refusal, /would bootstrap a new, empty cluster instead of the restored one\. Run the restore again/);
  t.ok(fs.existsSync(staging), 'only named, not removed: the next restore removes it');
});

void t.test('an existing data dir is staged inside it (a mount point or a link cannot be replaced), and discardStaging removes it there', async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-inside-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'c1');
  t.equal(stagingDirOf(dataDir, 4242), `${dataDir}.restoring-4242`, 'not there yet: beside it');
  fs.mkdirSync(dataDir);
  const staging = stagingDirOf(`${dataDir}/`, process.pid);
  t.equal(staging, path.join(dataDir, `.restoring-${process.pid}`), 'there: inside it');
  fs.mkdirSync(path.join(staging, 'raft'), { recursive: true });
  fs.writeFileSync(path.join(staging, 'raft', '000005.ldb'), 'state');
  t.same(removeLeftoverStagings(dataDir, () => false), [], "this process's own is no leftover");
  t.equal(discardStaging(dataDir, process.pid), null);
  t.same(fs.readdirSync(dataDir), [], 'neither the dir nor its renamed form is left inside');
  fs.mkdirSync(path.join(dataDir, '.restoring-4242.removing'));
  t.same(removeLeftoverStagings(dataDir, () => false), [path.join(dataDir, '.restoring-4242.removing')], 'a removal cut short inside it is a leftover too');
});

void t.test('a finished in-place restore\'s empty staging dir (a crash after the rename) is removed at start; a cut-short one is not', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-finished-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const empty = stagingDirOf(dataDir, 4242);
  const holding = stagingDirOf(dataDir, 4343);
  t.equal(path.dirname(empty), dataDir, 'in place: inside the data dir');
  fs.mkdirSync(empty);
  fs.mkdirSync(path.join(holding, 'raft'), { recursive: true });
  const dead = (): boolean => false;
  t.same(removeFinishedRestoreLeftovers(dataDir, dead), [], 'no Raft database in place: a restore cut short, kept for the start to refuse');
  t.ok(fs.existsSync(empty));
  t.match(restoreCutShortRefusal(dataDir, dead), /was cut short/);
  fs.mkdirSync(path.join(dataDir, 'raft'));
  t.same(removeFinishedRestoreLeftovers(dataDir, dead), [empty], 'the Raft database in place: the empty leftover goes');
  t.notOk(fs.existsSync(empty));
  t.ok(fs.existsSync(holding), 'one that holds anything stays for the next restore');
  t.same(removeFinishedRestoreLeftovers(dataDir, () => true), [], "a running restore's dir is never touched");
});
