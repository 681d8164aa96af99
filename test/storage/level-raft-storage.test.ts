import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Entry, EntryKind, HardState, Snapshot } from '../../src/raft/types.js';
import { LevelRaftStorage, StorageIoError, StorageUsageError } from '../../src/storage/level-raft-storage.js';
import { raftDbPath } from '../../src/storage/paths.js';

const enc = new TextEncoder();

function ent(index: number, term: number, text = `cmd-${index}-${term}`, kind: EntryKind = 'normal'): Entry {
  return { index, term, kind, data: enc.encode(text) };
}

function range(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(ent(i, term));
  return out;
}

function snap(index: number, term: number, text = `state@${index}`): Snapshot {
  return { meta: { index, term, conf: { voters: ['c1', 'c2', 'c3'], learners: ['c4'] } }, data: enc.encode(text) };
}

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-storage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function reopen(s: LevelRaftStorage): Promise<LevelRaftStorage> {
  await s.close();
  return LevelRaftStorage.open(s.dir);
}

const hs = (term: number, vote: string | null, commit: number): HardState => ({ term, vote, commit });

void t.test('a fresh store loads as empty and creates its dir', async (t) => {
  const dir = raftDbPath(path.join(tempDir(t), 'data'));
  const s = await LevelRaftStorage.open(dir);
  t.ok(fs.existsSync(dir));
  t.same(await s.load(), { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] });
  await s.close();
});

void t.test('what was saved loads identically after reopen', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  const entries = [ent(1, 1, '', 'noop'), ent(2, 1, 'put a 1'), ent(3, 2, 'conf-change', 'conf'), ent(4, 2, 'ünïcødé ✓')];
  await s.save({ hardState: hs(2, 'c2', 3), entries, snapshot: null }, true);
  s = await reopen(s);
  const loaded = await s.load();
  t.same(loaded, { hardState: hs(2, 'c2', 3), snapshot: null, entries });
  t.equal(loaded.entries[0]!.kind, 'noop');
  t.equal(loaded.entries[2]!.kind, 'conf');
  await s.close();
});

void t.test('entries overwriting a conflicting suffix delete the rest of it', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, 'c1', 0), entries: range(1, 10, 1), snapshot: null }, true);
  // A new leader at term 3 replaces 6..10 with a shorter 6..7.
  await s.save({ hardState: hs(3, 'c3', 5), entries: range(6, 7, 3), snapshot: null }, true);
  s = await reopen(s);
  const loaded = await s.load();
  t.same(loaded.entries, [...range(1, 5, 1), ...range(6, 7, 3)]);
  t.same(loaded.hardState, hs(3, 'c3', 5));
  // The tracked last index survives reopen: appending right after 7 works and nothing stale reappears.
  await s.save({ hardState: null, entries: range(8, 8, 3), snapshot: null }, true);
  s = await reopen(s);
  t.same((await s.load()).entries, [...range(1, 5, 1), ...range(6, 8, 3)]);
  await s.close();
});

void t.test('a snapshot from the leader replaces the whole log, then its entries follow', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, null, 2), entries: range(1, 12, 1), snapshot: null }, true);
  // Entries 9..12 at term 1 conflict with the leader's history; a snapshot at 8 term 4 discards them.
  await s.save({ hardState: hs(4, null, 8), entries: range(9, 10, 4), snapshot: snap(8, 4) }, true);
  s = await reopen(s);
  const loaded = await s.load();
  t.same(loaded.snapshot, snap(8, 4));
  t.same(loaded.entries, range(9, 10, 4));
  t.same(loaded.hardState, hs(4, null, 8));
  await s.close();
});

void t.test('a snapshot beyond the last index leaves an empty log that continues after it', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: null, entries: range(1, 3, 1), snapshot: null }, true);
  await s.save({ hardState: hs(2, null, 20), entries: [], snapshot: snap(20, 2) }, true);
  s = await reopen(s);
  t.same((await s.load()).entries, []);
  await s.save({ hardState: null, entries: range(21, 22, 2), snapshot: null }, false);
  s = await reopen(s);
  const loaded = await s.load();
  t.same(loaded.entries, range(21, 22, 2));
  t.equal(loaded.snapshot?.meta.index, 20);
  await s.close();
});

void t.test('a local snapshot compacts up to compactTo and keeps the trailing entries verified', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, 'c1', 10), entries: range(1, 12, 1), snapshot: null }, true);
  await s.saveLocalSnapshot(snap(10, 1), 7);
  s = await reopen(s);
  const loaded = await s.load();
  t.same(loaded.snapshot, snap(10, 1));
  t.same(loaded.entries, range(11, 12, 1), 'only entries after the snapshot are returned');
  // A later local snapshot compacts further; an overlapping append after reopen still works.
  await s.save({ hardState: null, entries: range(12, 14, 2), snapshot: null }, true);
  await s.saveLocalSnapshot(snap(13, 2), 13);
  s = await reopen(s);
  const again = await s.load();
  t.same(again.snapshot, snap(13, 2));
  t.same(again.entries, range(14, 14, 2));
  await s.close();
});

void t.test('a hard-state-only update keeps the log as it was', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, 'c1', 0), entries: range(1, 3, 1), snapshot: null }, true);
  await s.save({ hardState: hs(1, 'c1', 3), entries: [], snapshot: null }, false);
  await s.save({ hardState: hs(2, null, 3), entries: [], snapshot: null }, true);
  s = await reopen(s);
  t.same(await s.load(), { hardState: hs(2, null, 3), snapshot: null, entries: range(1, 3, 1) });
  await s.close();
});

/** What a crash would leave: a copy of the data dir taken while `s` is still open. */
async function crashCopy(t: { teardown: (fn: () => void) => void }, s: LevelRaftStorage): Promise<LevelRaftStorage> {
  const copy = tempDir(t);
  fs.cpSync(s.dir, copy, { recursive: true });
  return LevelRaftStorage.open(copy);
}

void t.test('a commit-only hard state is written with the next write, not on its own', async (t) => {
  const s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, 'c1', 2), entries: range(1, 3, 1), snapshot: null }, true);
  await s.save({ hardState: hs(1, 'c1', 3), entries: [], snapshot: null }, false);
  const crashed = await crashCopy(t, s);
  t.same((await crashed.load()).hardState, hs(1, 'c1', 2), 'a crash right after loses only the commit index');
  await crashed.close();
  await s.save({ hardState: null, entries: range(4, 4, 1), snapshot: null }, true);
  const later = await crashCopy(t, s);
  t.same((await later.load()).hardState, hs(1, 'c1', 3), 'the next write carries it');
  await later.close();
  await s.close();
});

void t.test('a synced save of nothing writes a held commit index, and is no write when none is held', async (t) => {
  // RaftHost's save when a Ready applies a membership change whose commit index came in an
  // earlier Ready (raft-ports.ts): SimStorage has its own copy of this rule, so LevelDB's needs its own test.
  const s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, 'c1', 2), entries: range(1, 3, 1), snapshot: null }, true);
  await s.save({ hardState: hs(1, 'c1', 3), entries: [], snapshot: null }, false);
  await s.save({ hardState: null, entries: [], snapshot: null }, true);
  const crashed = await crashCopy(t, s);
  t.same((await crashed.load()).hardState, hs(1, 'c1', 3), 'the held commit index is on disk once the save completes');
  await crashed.close();
  await s.save({ hardState: null, entries: [], snapshot: null }, true);
  const again = await crashCopy(t, s);
  t.same(await again.load(), { hardState: hs(1, 'c1', 3), snapshot: null, entries: range(1, 3, 1) }, 'with none held, nothing changes');
  await again.close();
  await s.close();
});

void t.test('a deferred commit index goes with a local snapshot beyond the stored one, and with close', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, 'c1', 1), entries: range(1, 5, 1), snapshot: null }, true);
  await s.save({ hardState: hs(1, 'c1', 5), entries: [], snapshot: null }, false);
  await s.saveLocalSnapshot(snap(4, 1), 4);
  const crashed = await crashCopy(t, s);
  const loaded = await crashed.load();
  t.same(loaded.hardState, hs(1, 'c1', 5), 'the stored commit is not below the snapshot');
  t.same(loaded.entries, range(5, 5, 1));
  await crashed.close();
  await s.save({ hardState: null, entries: range(6, 7, 1), snapshot: null }, true);
  await s.save({ hardState: hs(1, 'c1', 6), entries: [], snapshot: null }, false);
  await s.save({ hardState: hs(1, 'c1', 7), entries: [], snapshot: null }, false);
  s = await reopen(s);
  t.same((await s.load()).hardState, hs(1, 'c1', 7), 'close writes the latest deferred hard state');
  await s.close();
});

void t.test('entries the log already compacted are skipped, like MemoryStorage.append', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: null, entries: [], snapshot: snap(5, 2) }, true);
  await s.save({ hardState: null, entries: range(3, 7, 2), snapshot: null }, true);
  s = await reopen(s);
  t.same((await s.load()).entries, range(6, 7, 2));
  await s.close();
});

void t.test('saves issued without awaiting land in call order', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  const writes: Promise<void>[] = [];
  for (let i = 1; i <= 50; i++) writes.push(s.save({ hardState: hs(i, null, i - 1), entries: [ent(i, i)], snapshot: null }, i % 5 === 0));
  writes.push(s.save({ hardState: null, entries: [ent(40, 60)], snapshot: null }, true));
  await Promise.all(writes);
  s = await reopen(s);
  const loaded = await s.load();
  t.equal(loaded.entries.length, 40);
  t.same(loaded.entries[39], ent(40, 60));
  t.same(loaded.hardState, hs(50, null, 49));
  await s.close();
});

void t.test('a gap or an out-of-date snapshot is refused before anything is written', async (t) => {
  let s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: null, entries: range(1, 3, 1), snapshot: null }, true);
  await t.rejects(s.save({ hardState: hs(9, null, 0), entries: range(5, 6, 1), snapshot: null }, true), {
    code: 'STORAGE_USAGE',
    message: /start at most at 4.*got 5/,
  });
  await t.rejects(s.save({ hardState: null, entries: [ent(4, 1), ent(6, 1)], snapshot: null }, true), StorageUsageError);
  await s.saveLocalSnapshot(snap(2, 1), 1);
  await t.rejects(s.save({ hardState: null, entries: [], snapshot: snap(2, 1) }, true), { code: 'STORAGE_USAGE', message: /newer than the stored one at 2/ });
  await t.rejects(s.saveLocalSnapshot(snap(3, 1), 4), { code: 'STORAGE_USAGE' });
  await t.rejects(s.saveLocalSnapshot(snap(9, 1), 1), { code: 'STORAGE_USAGE', message: /last index 3/ });
  s = await reopen(s);
  t.same(await s.load(), { hardState: { term: 0, vote: null, commit: 0 }, snapshot: snap(2, 1), entries: range(3, 3, 1) });
  await s.close();
});

void t.test('a write after close fails with StorageIoError, and so does every later write', async (t) => {
  const s = await LevelRaftStorage.open(tempDir(t));
  await s.save({ hardState: hs(1, null, 0), entries: range(1, 2, 1), snapshot: null }, true);
  await s.close();
  const err = await s.save({ hardState: hs(2, null, 0), entries: [], snapshot: null }, true).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, StorageIoError);
  t.equal((err as StorageIoError).code, 'STORAGE_IO');
  t.match((err as StorageIoError).message, new RegExp(`write to ${s.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed: .*not open`));
  t.match((err as StorageIoError).message, /already closed/);
  t.ok((err as StorageIoError).cause, 'the LevelDB error is kept as the cause');
  await t.rejects(s.save({ hardState: null, entries: range(3, 3, 1), snapshot: null }, true), { code: 'STORAGE_IO' });
});

void t.test('a second open of the same dir fails with StorageIoError while the first holds it', async (t) => {
  const s = await LevelRaftStorage.open(tempDir(t));
  await t.rejects(LevelRaftStorage.open(s.dir), { code: 'STORAGE_IO', message: /cannot open raft storage at .*LEVEL_LOCKED.*Another controller process holds this data dir/ });
  await s.close();
});
