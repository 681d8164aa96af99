/**
 * The LevelDB key layout of the Raft storage: one prefix per record type. Entry keys carry
 * the index as 16 hex digits so that LevelDB's byte order is index order.
 */
export const HARD_STATE_KEY = 'h';
export const SNAPSHOT_META_KEY = 'sm';
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
