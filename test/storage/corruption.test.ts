import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Level } from 'level';
import t from 'tap';
import type { Entry, Snapshot } from '../../src/raft/types.js';
import { encodeEntry } from '../../src/storage/codec.js';
import { entryKey, snapshotChunkKey } from '../../src/storage/keys.js';
import { LevelRaftStorage, StorageCorruptionError } from '../../src/storage/level-raft-storage.js';

const enc = new TextEncoder();
const ent = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: enc.encode(`cmd-${index}`) });
const range = (lo: number, hi: number, term: number): Entry[] => Array.from({ length: hi - lo + 1 }, (_, k) => ent(lo + k, term));
const snap = (index: number, term: number): Snapshot => ({
  meta: { index, term, conf: { voters: ['c1'], learners: [] } },
  data: enc.encode(`state@${index}`),
});

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-corrupt-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a store through LevelRaftStorage, then tampers with it through a raw handle. */
async function tampered(
  dir: string,
  write: (s: LevelRaftStorage) => Promise<void>,
  tamper: (db: Level<string, Uint8Array>) => Promise<void>,
): Promise<void> {
  const s = await LevelRaftStorage.open(dir);
  await write(s);
  await s.close();
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  await tamper(db);
  await db.close();
}

/** Opens and loads, expecting a StorageCorruptionError; returns it. */
async function loadError(dir: string): Promise<StorageCorruptionError> {
  const s = await LevelRaftStorage.open(dir);
  try {
    await s.load();
  } catch (err) {
    if (err instanceof StorageCorruptionError) return err;
    throw err;
  } finally {
    await s.close();
  }
  throw new Error('expected load to fail with StorageCorruptionError, it succeeded');
}

const plainLog = (s: LevelRaftStorage): Promise<void> => s.save({ hardState: { term: 2, vote: 'c1', commit: 4 }, entries: range(1, 8, 2), snapshot: null }, true);

/** Sets byte 0 (the format version) and re-seals the checksum, so only the version is wrong. */
function withVersion(value: Uint8Array, version: number): Uint8Array {
  const copy = Buffer.from(value);
  copy[0] = version;
  copy.writeUInt32BE(crc32(copy.subarray(0, copy.length - 4)), copy.length - 4);
  return copy;
}

void t.test('garbage bytes in one entry fail the load, naming the index, and nothing is truncated', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, (db) => db.put(entryKey(5), enc.encode('not an entry at all, just some garbage bytes')));
  const err = await loadError(dir);
  t.equal(err.code, 'STORAGE_CORRUPT');
  t.equal(err.key, entryKey(5));
  t.match(err.message, /corrupt at key e0000000000000005: entry 5: checksum mismatch/);
  t.match(err.message, /move it aside, never delete it nor put back an older copy of it .*ctl member remove ID; ctl member add ID ADDRESS; start it with an empty data dir and --join \(docs\/operate\.md, "Rebuilding a lost member"\)/, 'the message says what the operator can do');
  t.notMatch(err.message, /restore the dir from a backup/, 'and not what operate.md forbids: a copy of the data dir put back');
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  t.equal((await db.keys({ gte: 'e', lt: 'f' }).all()).length, 8, 'all eight entries are still on disk');
  await db.close();
});

void t.test('a value too short for a header fails the load', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, (db) => db.put(entryKey(2), new Uint8Array([1, 2, 3])));
  t.match((await loadError(dir)).message, /entry 2: expected at least 26 bytes, found 3/);
});

void t.test('one flipped bit in entry data fails the checksum', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, async (db) => {
    const value = Buffer.from((await db.get(entryKey(3)))!);
    value[24] = value[24]! ^ 0x01;
    await db.put(entryKey(3), value);
  });
  t.match((await loadError(dir)).message, /entry 3: checksum mismatch/);
});

void t.test('an unknown format version fails the load', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, async (db) => db.put(entryKey(4), withVersion((await db.get(entryKey(4)))!, 7)));
  t.match((await loadError(dir)).message, /entry 4: expected format version 1, found 7/);
});

void t.test('an entry whose value names another index fails the load', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, async (db) => db.put(entryKey(6), (await db.get(entryKey(4)))!));
  t.match((await loadError(dir)).message, /entry 6: the key says index 6, the value says index 4/);
});

void t.test('a gap in the log fails the load', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, (db) => db.del(entryKey(5)));
  const err = await loadError(dir);
  t.equal(err.key, entryKey(6));
  t.match(err.message, /gap in the log: expected entry 5 after entry 4, found entry 6/);
});

void t.test('a missing first entry fails the load', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, (db) => db.del(entryKey(1)));
  t.match((await loadError(dir)).message, /expected the log to continue at 1 \(the log starts at 1\), found the first entry at 2/);
});

void t.test('a decreasing term fails the load', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, (db) => db.put(entryKey(6), encodeEntry(ent(6, 1))));
  t.match((await loadError(dir)).message, /entry 6: expected a term >= 2 \(the term of entry 5\), found term 1/);
});

void t.test('entries that do not follow the snapshot fail the load', async (t) => {
  const dir = tempDir(t);
  const write = (s: LevelRaftStorage): Promise<void> => s.save({ hardState: null, entries: range(11, 13, 3), snapshot: snap(10, 3) }, true);
  await tampered(dir, write, (db) => db.del(entryKey(11)));
  t.match((await loadError(dir)).message, /entry 12: expected the log to continue at 11 \(the snapshot covers up to 10\)/);
});

void t.test('an entry older than the snapshot term right after it fails the load', async (t) => {
  const dir = tempDir(t);
  const write = (s: LevelRaftStorage): Promise<void> => s.save({ hardState: null, entries: range(11, 12, 3), snapshot: snap(10, 3) }, true);
  await tampered(dir, write, (db) => db.put(entryKey(11), encodeEntry(ent(11, 2))));
  t.match((await loadError(dir)).message, /entry 11: expected a term >= 3 \(the snapshot's term\), found term 2/);
});

void t.test('a kept entry at the snapshot index must carry the snapshot term', async (t) => {
  const dir = tempDir(t);
  const write = async (s: LevelRaftStorage): Promise<void> => {
    await s.save({ hardState: null, entries: range(1, 12, 2), snapshot: null }, true);
    await s.saveLocalSnapshot(snap(10, 2), 8);
  };
  await tampered(dir, write, (db) => db.put(entryKey(10), encodeEntry(ent(10, 5))));
  t.match((await loadError(dir)).message, /entry 10: expected term 2 \(the snapshot's term at this index\), found term 5/);
});

void t.test('corrupt snapshot data fails the load, naming the snapshot key', async (t) => {
  const dir = tempDir(t);
  const write = (s: LevelRaftStorage): Promise<void> => s.save({ hardState: null, entries: [], snapshot: snap(10, 3) }, true);
  await tampered(dir, write, (db) => db.put(snapshotChunkKey(10, 0), enc.encode('state@1X')));
  const err = await loadError(dir);
  t.equal(err.key, snapshotChunkKey(10, 0));
  t.match(err.message, /snapshot at 10: expected 8 bytes with crc32 \d+, found 8 bytes with crc32 \d+/);
});

void t.test('a corrupt snapshot meta or hard state fails the load', async (t) => {
  const meta = tempDir(t);
  await tampered(meta, (s) => s.save({ hardState: null, entries: [], snapshot: snap(10, 3) }, true), (db) => db.put('sm', enc.encode('garbage-garbage-garbage-garbage-garbage')));
  // The snapshot meta is read at open, since the write path needs the snapshot index.
  await t.rejects(LevelRaftStorage.open(meta), { code: 'STORAGE_CORRUPT', key: 'sm', message: /snapshot meta: checksum mismatch/ });
  const hard = tempDir(t);
  await tampered(hard, plainLog, async (db) => db.put('h', withVersion((await db.get('h'))!, 0)));
  const err = await loadError(hard);
  t.equal(err.key, 'h');
  t.match(err.message, /hard state: expected format version 1, found 0/);
});

void t.test('a malformed key among the entries fails the open', async (t) => {
  const dir = tempDir(t);
  await tampered(dir, plainLog, (db) => db.put('eXYZ', enc.encode('x')));
  await t.rejects(LevelRaftStorage.open(dir), { code: 'STORAGE_CORRUPT', key: 'eXYZ', message: /expected an entry key/ });
});
