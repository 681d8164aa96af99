/**
 * Reading the Raft storage back: the cheap bounds the write path needs (open), and the
 * full, verified state (load). Verification never repairs: anything that does not add up
 * is a StorageCorruptionError naming the key, what was expected and what was found.
 */
import { crc32 } from 'node:zlib';
import type { Level } from 'level';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { EMPTY_HARD_STATE } from '../raft/types.js';
import { decodeEntry, decodeHardState, decodeSnapshotMeta, type StoredSnapshotMeta } from './codec.js';
import { StorageCorruptionError } from './errors.js';
import { ENTRY_RANGE, entryKey, HARD_STATE_KEY, parseEntryKey, parseSnapshotChunkKey, SNAPSHOT_DATA_KEY, SNAPSHOT_META_KEY, snapshotChunkKey, snapshotChunkRange } from './keys.js';
import { readError } from './level-errors.js';

export type RaftDb = Level<string, Uint8Array>;

export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (index > snapshot index, or from 1), contiguous. Entries a
   * local snapshot kept for slow followers (index <= snapshot index) are verified, not returned. */
  readonly entries: readonly Entry[];
}

/** What the write path tracks so it never reads: entries stored on disk are exactly
 * (offset, last]; `snapIndex` is the stored snapshot's index (0 if none). */
export interface LogBounds {
  readonly offset: number;
  readonly last: number;
  readonly snapIndex: number;
}

async function get(db: RaftDb, dir: string, key: string): Promise<Uint8Array | undefined> {
  try {
    // level's typings say V, but abstract-level 3 resolves undefined for a missing key.
    return (await db.get(key)) as Uint8Array | undefined;
  } catch (err) {
    throw readError(dir, `key ${key}`, err);
  }
}

async function readSnapshotMeta(db: RaftDb, dir: string): Promise<StoredSnapshotMeta | null> {
  const raw = await get(db, dir, SNAPSHOT_META_KEY);
  if (raw === undefined) return null;
  const d = decodeSnapshotMeta(raw);
  if (!d.ok) throw new StorageCorruptionError(dir, SNAPSHOT_META_KEY, `snapshot meta: ${d.problem}`);
  return d.value;
}

async function readSnapshot(db: RaftDb, dir: string): Promise<Snapshot | null> {
  const stored = await readSnapshotMeta(db, dir);
  // The one-value layout of a data dir from before chunks, until its next snapshot replaces it.
  const single = await get(db, dir, SNAPSHOT_DATA_KEY);
  if (stored === null) {
    if (single !== undefined) throw new StorageCorruptionError(dir, SNAPSHOT_DATA_KEY, 'found snapshot data but no snapshot meta');
    // Chunks without a meta are a snapshot a crash cut short: nothing refers to them.
    return null;
  }
  const { index } = stored.meta;
  const [key, chunks] = single !== undefined ? [SNAPSHOT_DATA_KEY, single] : [snapshotChunkKey(index, 0), await readChunks(db, dir, index)];
  // Zero bytes are written as no chunk at all.
  const data = chunks === null && stored.dataLength === 0 ? new Uint8Array(0) : chunks;
  if (data === null) {
    throw new StorageCorruptionError(dir, key, `expected the data of the snapshot at ${index}, found none`);
  }
  if (data.length !== stored.dataLength || crc32(data) !== stored.dataCrc) {
    throw new StorageCorruptionError(
      dir,
      key,
      `snapshot at ${index}: expected ${stored.dataLength} bytes with crc32 ${stored.dataCrc}, ` +
        `found ${data.length} bytes with crc32 ${crc32(data)}`,
    );
  }
  return { meta: stored.meta, data: new Uint8Array(data) };
}

/** The chunks of the snapshot at `index` joined, or null when it has none; a gap in their numbers is corruption. */
async function readChunks(db: RaftDb, dir: string, index: number): Promise<Uint8Array | null> {
  let entries: [string, Uint8Array][];
  try {
    entries = await db.iterator(snapshotChunkRange(index)).all();
  } catch (err) {
    throw readError(dir, `chunks of the snapshot at ${index}`, err);
  }
  if (entries.length === 0) return null;
  for (const [i, [key]] of entries.entries()) {
    if (parseSnapshotChunkKey(key)?.n !== i) throw new StorageCorruptionError(dir, key, `snapshot at ${index}: expected chunk ${i} here; a chunk is missing`);
  }
  return Buffer.concat(entries.map(([, value]) => value));
}

async function readHardState(db: RaftDb, dir: string): Promise<HardState> {
  const raw = await get(db, dir, HARD_STATE_KEY);
  if (raw === undefined) return EMPTY_HARD_STATE;
  const d = decodeHardState(raw);
  if (!d.ok) throw new StorageCorruptionError(dir, HARD_STATE_KEY, `hard state: ${d.problem}`);
  return d.value;
}

async function entryKeyAt(db: RaftDb, dir: string, reverse: boolean): Promise<number | null> {
  let keys: string[];
  try {
    keys = await db.keys({ ...ENTRY_RANGE, reverse, limit: 1 }).all();
  } catch (err) {
    throw readError(dir, 'entry keys', err);
  }
  const key = keys[0];
  if (key === undefined) return null;
  const index = parseEntryKey(key);
  if (index === null) throw new StorageCorruptionError(dir, key, 'expected an entry key: "e" and 16 hex digits');
  return index;
}

/** The bounds from the first and last entry keys and the snapshot meta: no full scan. */
export async function readBounds(db: RaftDb, dir: string): Promise<LogBounds> {
  const snap = await readSnapshotMeta(db, dir);
  const snapIndex = snap === null ? 0 : snap.meta.index;
  const first = await entryKeyAt(db, dir, false);
  const last = await entryKeyAt(db, dir, true);
  if (first === null || last === null) return { offset: snapIndex, last: snapIndex, snapIndex };
  return { offset: first - 1, last, snapIndex };
}

/** Checks one entry against its key, its predecessor and the snapshot. */
function verifyEntry(dir: string, key: string, value: Uint8Array, prev: Entry | null, snap: Snapshot | null): Entry {
  const index = parseEntryKey(key);
  if (index === null) throw new StorageCorruptionError(dir, key, 'expected an entry key: "e" and 16 hex digits');
  const fail = (detail: string): never => {
    throw new StorageCorruptionError(dir, key, `entry ${index}: ${detail}`);
  };
  const d = decodeEntry(value);
  if (!d.ok) return fail(d.problem);
  const e = d.value;
  if (e.index !== index) fail(`the key says index ${index}, the value says index ${e.index}`);
  const snapIndex = snap === null ? 0 : snap.meta.index;
  if (prev === null) {
    if (index === 0) fail('expected indexes from 1, found 0');
    if (index > snapIndex + 1) {
      const after = snap === null ? 'the log starts at 1' : `the snapshot covers up to ${snapIndex}`;
      fail(`expected the log to continue at ${snapIndex + 1} (${after}), found the first entry at ${index}; entries ${snapIndex + 1}..${index - 1} are missing`);
    }
  } else {
    if (index !== prev.index + 1) fail(`gap in the log: expected entry ${prev.index + 1} after entry ${prev.index}, found entry ${index}`);
    if (e.term < prev.term) fail(`expected a term >= ${prev.term} (the term of entry ${prev.index}), found term ${e.term}`);
  }
  if (snap !== null) {
    if (index === snapIndex && e.term !== snap.meta.term) {
      fail(`expected term ${snap.meta.term} (the snapshot's term at this index), found term ${e.term}`);
    }
    if (index > snapIndex && e.term < snap.meta.term) {
      fail(`expected a term >= ${snap.meta.term} (the snapshot's term), found term ${e.term}`);
    }
  }
  return e;
}

/** Reads and verifies everything; also returns the bounds the write path continues from. */
export async function readPersistedState(db: RaftDb, dir: string): Promise<{ state: PersistedState; bounds: LogBounds }> {
  const hardState = await readHardState(db, dir);
  const snapshot = await readSnapshot(db, dir);
  const snapIndex = snapshot === null ? 0 : snapshot.meta.index;
  const entries: Entry[] = [];
  let first: Entry | null = null;
  let prev: Entry | null = null;
  const it = db.iterator({ ...ENTRY_RANGE });
  try {
    for (;;) {
      let batch: Array<[string, Uint8Array]>;
      try {
        batch = await it.nextv(1024);
      } catch (err) {
        throw readError(dir, 'log entries', err);
      }
      if (batch.length === 0) break;
      for (const [key, value] of batch) {
        const e = verifyEntry(dir, key, value, prev, snapshot);
        first ??= e;
        if (e.index > snapIndex) entries.push(e);
        prev = e;
      }
    }
  } finally {
    await it.close();
  }
  if (prev !== null && prev.index < snapIndex) {
    throw new StorageCorruptionError(
      dir,
      entryKey(prev.index + 1),
      `expected the log to reach the snapshot at ${snapIndex}, found the last entry at ${prev.index}`,
    );
  }
  const bounds: LogBounds =
    first === null || prev === null
      ? { offset: snapIndex, last: snapIndex, snapIndex }
      : { offset: first.index - 1, last: prev.index, snapIndex };
  return { state: { hardState, snapshot, entries }, bounds };
}
