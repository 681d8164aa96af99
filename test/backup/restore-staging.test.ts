/** The staging dirs an interrupted `controller restore` leaves beside the data dir (src/backup/restore-staging.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { processRuns, removeLeftoverStagings, stagingDirOf } from '../../src/backup/restore-staging.js';

void t.test("the next restore removes the staging dirs of restores that no longer run, and only those", async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-staging-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'c1');
  const dead = stagingDirOf(dataDir, 4242);
  const alive = stagingDirOf(dataDir, 4343);
  const own = stagingDirOf(dataDir, process.pid);
  const otherMember = stagingDirOf(path.join(parent, 'c10'), 4242);
  const notOurs = `${dataDir}.restoring-old`;
  for (const dir of [dead, alive, own, otherMember, notOurs]) fs.mkdirSync(path.join(dir, 'raft'), { recursive: true });

  const removed = removeLeftoverStagings(`${dataDir}/`, (pid) => pid === 4343);
  t.same(removed, [dead], "only the dead restore's dir of this data dir");
  t.notOk(fs.existsSync(dead));
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
