/**
 * The LevelDB key layout of the Raft storage: one prefix per record type. Entry keys carry
 * the index as 16 hex digits so that LevelDB's byte order is index order.
 */
export const HARD_STATE_KEY = 'h';
export const SNAPSHOT_META_KEY = 'sm';
/** A snapshot's data in one value: the layout before chunks, still read (a data dir from then). */
export const SNAPSHOT_DATA_KEY = 'sd';
/** Who this data dir is: member id, incarnation, cluster id (src/identity). */
export const IDENTITY_KEY = 'id';

const ENTRY_PREFIX = 'e';
/** Bounds for iterating all entry keys and nothing else: every entry key sorts in [gte, lt). */
export const ENTRY_RANGE = { gte: ENTRY_PREFIX, lt: 'f' } as const;

const ENTRY_KEY = /^e[0-9a-f]{16}$/;

export function entryKey(index: number): string {
  return ENTRY_PREFIX + index.toString(16).padStart(16, '0');
}

/** The index an entry key names, or null if the key is not a well-formed entry key. */
export function parseEntryKey(key: string): number | null {
  if (!ENTRY_KEY.test(key)) return null;
  const index = parseInt(key.slice(1), 16);
  return Number.isSafeInteger(index) ? index : null;
}

/**
 * A snapshot's data in chunks, keyed by the snapshot's index and the chunk's number, written
 * before the meta that makes them the snapshot: LevelDB's binding copies a value on the event
 * loop, and one 80 MB value held it for 0.25-0.9 s on every member at the same index.
 */
const SNAPSHOT_CHUNK_PREFIX = 'sc';
/** Every chunk key of every snapshot sorts in [gte, lt) ('sc' < 'sd'). */
export const SNAPSHOT_CHUNK_RANGE = { gte: SNAPSHOT_CHUNK_PREFIX, lt: SNAPSHOT_DATA_KEY } as const;
const SNAPSHOT_CHUNK_KEY = /^sc([0-9a-f]{16})\/([0-9a-f]{8})$/;

function snapshotChunkPrefix(index: number): string {
  return `${SNAPSHOT_CHUNK_PREFIX}${index.toString(16).padStart(16, '0')}/`;
}

export function snapshotChunkKey(index: number, n: number): string {
  return snapshotChunkPrefix(index) + n.toString(16).padStart(8, '0');
}

/** The chunk keys of the snapshot at `index`, in order ('/' < '0'). */
export function snapshotChunkRange(index: number): { readonly gte: string; readonly lt: string } {
  const prefix = snapshotChunkPrefix(index);
  return { gte: prefix, lt: `${prefix.slice(0, -1)}0` };
}

/** The snapshot index and chunk number a chunk key names, or null for any other key. */
export function parseSnapshotChunkKey(key: string): { readonly index: number; readonly n: number } | null {
  const m = SNAPSHOT_CHUNK_KEY.exec(key);
  if (m === null) return null;
  const index = parseInt(m[1]!, 16);
  return Number.isSafeInteger(index) ? { index, n: parseInt(m[2]!, 16) } : null;
}
