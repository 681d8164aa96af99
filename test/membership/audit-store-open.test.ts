/**
 * The audit trail's database that LevelDB cannot open (a full disk, a damaged file): the
 * controller said only LevelDB's "Database failed to open" (`controller: Database failed to
 * open`, exit 1, on a data dir whose disk filled as it started), naming neither the database nor
 * the cause. Now the refusal names the audit dir, LevelDB's cause and what to do.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AuditStore } from '../../src/membership/audit-store.js';
import { StorageIoError } from '../../src/storage/errors.js';

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-open-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function refusal(dataDir: string): Promise<Error> {
  try {
    const store = await AuditStore.open(dataDir);
    await store.close();
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected AuditStore.open to fail');
}

void t.test("an audit database whose CURRENT names a missing manifest is refused naming the dir, LevelDB's cause and what to do", async (t) => {
  const dataDir = tempDir(t);
  const dir = path.join(dataDir, 'audit');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'CURRENT'), 'MANIFEST-000009\n');
  fs.writeFileSync(path.join(dir, '000005.ldb'), 'a table');
  const err = await refusal(dataDir);
  t.ok(err instanceof StorageIoError, 'a storage failure: the controller exits 1');
  t.match(err.message, `cannot open the audit trail at ${dir}: Database failed to open (LEVEL_DATABASE_NOT_OPEN): `);
  t.match(err.message, /MANIFEST-000009/, "LevelDB's cause");
  t.match(err.message, `move ${dir} aside: the controller starts a new, empty audit trail`);
});

void t.test('an audit path that is a regular file is refused naming it', async (t) => {
  const dataDir = tempDir(t);
  const dir = path.join(dataDir, 'audit');
  fs.writeFileSync(dir, 'not a directory');
  const err = await refusal(dataDir);
  t.ok(err instanceof StorageIoError);
  t.match(err.message, `cannot open the audit trail at ${dir}: `);
  t.match(err.message, /EEXIST|ENOTDIR/);
});
