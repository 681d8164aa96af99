/**
 * A Raft database whose CURRENT file is lost (attack round 12): LevelDB, opened as it was, took
 * the directory for a new database and deleted the tables holding the log. Now it is refused
 * before LevelDB opens it, nothing on disk changes, and the advice in the refusal brings every
 * entry back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Entry } from '../../src/raft/types.js';
import { AuditStore } from '../../src/membership/audit-store.js';
import { LevelRaftStorage, StorageLostCurrentError } from '../../src/storage/level-raft-storage.js';
import { lostCurrentProblem } from '../../src/storage/lost-current.js';

const enc = new TextEncoder();
const ent = (index: number): Entry => ({ index, term: 2, kind: 'normal', data: enc.encode(`cmd-${index}`) });

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lost-current-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Each file's name and size: what "nothing changed" is checked against. */
function listing(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n !== 'LOCK' && !n.startsWith('LOG')).sort().map((n) => `${n}:${fs.statSync(path.join(dir, n)).size}`);
}

void t.test('a Raft database without CURRENT is refused before LevelDB deletes its tables; writing CURRENT back recovers every entry', async (t) => {
  const dir = path.join(tempDir(t), 'raft');
  const s = await LevelRaftStorage.open(dir);
  await s.save({ hardState: { term: 2, vote: 'c1', commit: 40 }, entries: Array.from({ length: 40 }, (_, k) => ent(k + 1)), snapshot: null }, true);
  await s.close();
  // A second open moves the log into a table (.ldb), where a lost CURRENT orphans it.
  await (await LevelRaftStorage.open(dir)).close();
  t.ok(fs.readdirSync(dir).some((n) => n.endsWith('.ldb')), 'the entries are in a table');
  const manifest = fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8').trim();
  fs.rmSync(path.join(dir, 'CURRENT'));
  const before = listing(dir);

  const err = await LevelRaftStorage.open(dir).then(
    async (opened) => {
      await opened.close();
      return null;
    },
    (e: unknown) => e,
  );
  t.type(err, StorageLostCurrentError, 'refused');
  t.match((err as Error).message, `refusing to open the database at ${dir}: it holds LevelDB data files (`);
  t.match((err as Error).message, `but no CURRENT file, which names the live MANIFEST`);
  t.match((err as Error).message, `printf '${manifest}\\n' > ${dir}/CURRENT`, 'naming the manifest to write back');
  t.match((err as Error).message, /Otherwise rebuild the member: move its data dir aside \(never delete it\)/);
  t.same(listing(dir), before, 'nothing on disk changed');

  // The advice, followed: every entry is there.
  fs.writeFileSync(path.join(dir, 'CURRENT'), `${manifest}\n`);
  const back = await LevelRaftStorage.open(dir);
  t.teardown(() => back.close());
  const state = await back.load();
  t.same(state.entries.map((e) => e.index), Array.from({ length: 40 }, (_, k) => k + 1), 'all 40 entries');
  t.same(state.hardState, { term: 2, vote: 'c1', commit: 40 });
});

void t.test("the audit trail's database without CURRENT is refused too, naming what to do", async (t) => {
  const dataDir = tempDir(t);
  const store = await AuditStore.open(dataDir);
  await store.close();
  const dir = path.join(dataDir, 'audit');
  fs.rmSync(path.join(dir, 'CURRENT'));
  await t.rejects(AuditStore.open(dataDir), new RegExp(`refusing to open the database at ${dir}: .*Otherwise move ${dir} aside`));
});

void t.test('lostCurrentProblem: only data files without CURRENT are a problem', async (t) => {
  const dir = tempDir(t);
  t.equal(lostCurrentProblem(path.join(dir, 'absent')), null, 'no directory: a new database');
  t.equal(lostCurrentProblem(dir), null, 'an empty directory');
  fs.writeFileSync(path.join(dir, 'LOCK'), '');
  fs.writeFileSync(path.join(dir, 'LOG'), '');
  t.equal(lostCurrentProblem(dir), null, 'LOCK and LOG alone hold no data');
  fs.writeFileSync(path.join(dir, 'MANIFEST-000002'), '');
  fs.writeFileSync(path.join(dir, 'MANIFEST-000010'), '');
  fs.writeFileSync(path.join(dir, '000007.ldb'), '');
  t.match(lostCurrentProblem(dir), /\(000007\.ldb, MANIFEST-000002, MANIFEST-000010\).*printf 'MANIFEST-000010\\n'/, 'the newest manifest, by number');
  fs.rmSync(path.join(dir, 'MANIFEST-000002'));
  fs.rmSync(path.join(dir, 'MANIFEST-000010'));
  t.match(lostCurrentProblem(dir), /no MANIFEST is left to name in one/);
  fs.writeFileSync(path.join(dir, 'CURRENT'), 'MANIFEST-000010\n');
  t.equal(lostCurrentProblem(dir), null, 'with CURRENT, LevelDB decides');
});

void t.test('a first open stopped before its CURRENT was renamed into place (manifest only, no record) still opens', async (t) => {
  // LevelDB 1.20's NewDB: MANIFEST-000001 written, then CURRENT through 000001.dbtmp; a kill or a
  // failed rename in between leaves these, and the next open creates the database again.
  const dir = path.join(tempDir(t), 'raft');
  fs.mkdirSync(dir);
  for (const [name, text] of [['LOCK', ''], ['LOG', ''], ['MANIFEST-000001', ''], ['000001.dbtmp', 'MANIFEST-000001\n']] as const) {
    fs.writeFileSync(path.join(dir, name), text);
  }
  t.equal(lostCurrentProblem(dir), null, 'not a lost CURRENT: nothing was ever recorded');
  const s = await LevelRaftStorage.open(dir);
  await s.save({ hardState: { term: 1, vote: 'c1', commit: 1 }, entries: [ent(1)], snapshot: null }, true);
  await s.close();
  const again = await LevelRaftStorage.open(dir);
  t.teardown(() => again.close());
  t.same((await again.load()).entries.map((e) => e.index), [1], 'a working database');
});
