/**
 * Durable Raft storage on LevelDB: hard state, the latest snapshot and the log after it.
 *
 * RaftHost's RaftStorage port (src/node/raft-ports.ts): the driver persists each Ready here
 * (one atomic batch, fsynced when the Ready says so), then mirrors the same writes into
 * MemoryStorage; at start it loads this into a fresh MemoryStorage. Writes never read: the
 * stored index range is tracked in memory.
 *
 * Calls may be issued without awaiting the previous one: batches are written in call order,
 * except a local snapshot's, which goes once its data is written beside the others (its data
 * in chunks, under keys of its own, so appends need not wait for tens of MB; a snapshot stored
 * meanwhile that is newer makes it stale). After one write fails every later call fails too,
 * since memory and disk may now differ.
 *
 * A hard state that moved only the commit index (an unsynced save with nothing else) is not
 * written on its own (deferred-commit.ts): it rides on the next batch, a local snapshot's batch,
 * or close. Writing it cost every member a LevelDB write per commit.
 */
import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import type { LocalIdentity } from '../identity/types.js';
import type { RaftStorage, StorageUpdate } from '../node/raft-ports.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { encodeEntry, encodeHardState, encodeSnapshotMeta } from './codec.js';
import { StorageCorruptionError, StorageIoError, StorageLostCurrentError, StorageUsageError } from './errors.js';
import { lostCurrentProblem } from './lost-current.js';
import { DeferredCommit } from './deferred-commit.js';
import { decodeIdentity, encodeIdentity } from './identity-codec.js';
import { entryKey, HARD_STATE_KEY, IDENTITY_KEY, parseSnapshotChunkKey, SNAPSHOT_CHUNK_RANGE, SNAPSHOT_DATA_KEY, SNAPSHOT_META_KEY, snapshotChunkKey } from './keys.js';
import { trace, tracing } from '../util/trace.js';
import { openError, readError, writeError } from './level-errors.js';
import { readBounds, readPersistedState, type LogBounds, type PersistedState, type RaftDb } from './read-state.js';

export { StorageCorruptionError, StorageIoError, StorageLostCurrentError, StorageUsageError } from './errors.js';
export type { PersistedState } from './read-state.js';

export type { StorageUpdate };

/** An entry is encoded as the batch is built (write), so that a large Ready's encoding is spread over turns too. */
type BatchOp =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly type: 'entry'; readonly key: string; readonly entry: Entry }
  | { readonly type: 'del'; readonly key: string };

/**
 * Bytes of values a batch takes per turn of the event loop while it is built. LevelDB's binding
 * copies each value on the loop, and an entry is encoded (a copy and a CRC) before that: a
 * leader's Ready of 25 entries of 1 MB held its loop 0.8 s on a loaded host, no heartbeat left
 * meanwhile, and its followers elected another leader (attack round 11). Between steps timers
 * and sockets have their turn; a batch of small entries is built in one step as before.
 */
const BATCH_STEP_BYTES = 1024 * 1024;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A snapshot's data is written in values of this size: each costs the event loop a few ms to copy. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export class LevelRaftStorage implements RaftStorage {
  /** Every write chains onto this, so batches reach LevelDB in call order. Never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private failure: StorageIoError | null = null;
  /** The latest commit-only hard state, not yet written (see above). */
  private readonly deferred = new DeferredCommit();
  /** A local snapshot's chunks being written beside the chain; close() waits for them. Never rejects. */
  private chunking: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly db: RaftDb,
    private bounds: LogBounds,
  ) {}

  /** Opens (creating if missing) the database at `dir`. */
  static async open(dir: string): Promise<LevelRaftStorage> {
    const lostCurrent = lostCurrentProblem(dir);
    if (lostCurrent !== null) {
      const rebuild =
        'rebuild the member: move its data dir aside (never delete it), ctl member remove ID; ctl member add ID ADDRESS; ' +
        'start it with an empty data dir and --join (docs/operate.md, "Rebuilding a lost member")';
      throw new StorageLostCurrentError(dir, lostCurrent, rebuild);
    }
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new StorageIoError(`cannot create raft storage dir ${dir}: ${String(err)}`, { cause: err });
    }
    const db: RaftDb = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw openError(dir, err);
    }
    try {
      return new LevelRaftStorage(dir, db, await readBounds(db, dir));
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Reads and verifies everything stored. Throws StorageCorruptionError rather than
   * truncate: a Raft node that forgets acknowledged entries or votes breaks safety. */
  async load(): Promise<PersistedState> {
    await this.tail;
    const { state, bounds } = await readPersistedState(this.db, this.dir);
    this.bounds = bounds;
    return state;
  }

  /**
   * One atomic batch, in Ready order: the snapshot (which replaces the whole log, as
   * MemoryStorage.applySnapshot does), then the entries (overwriting any stored entry at or
   * after entries[0].index and deleting the rest of a conflicting suffix; entries the log
   * already compacted are skipped, as MemoryStorage.append does), then the hard state.
   */
  async save(u: StorageUpdate, sync: boolean): Promise<void> {
    this.throwIfFailed();
    if (this.deferred.hold(u, sync)) return this.tail;
    const ops: BatchOp[] = [];
    let { offset, last, snapIndex } = this.bounds;
    if (u.snapshot !== null) {
      const { index } = u.snapshot.meta;
      if (index <= snapIndex) {
        throw new StorageUsageError(`expected a snapshot newer than the stored one at ${snapIndex}, got one at ${index}`);
      }
      // A leader's snapshot replaces the log: later local entries may conflict with it.
      for (let i = offset + 1; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
      pushSnapshotMeta(ops, u.snapshot);
      offset = last = snapIndex = index;
    }
    if (u.entries.length > 0) last = pushEntries(ops, u.entries, offset, last);
    this.pushHardState(ops, u.hardState);
    // Nothing to write: done once every earlier write is, and failed if one of them failed (the
    // tail never rejects). A synced save of nothing is RaftHost's wait for the commit index
    // covering a membership change, which a local snapshot's batch in flight may carry: had that
    // batch failed, the change must not be applied as if its commit index were durable.
    if (ops.length === 0) return this.tail.then(() => this.throwIfFailed());
    // Memory moves on now, so a call issued before this write lands builds on it.
    this.bounds = { offset, last, snapIndex };
    const snap = u.snapshot;
    if (snap === null) return this.write(ops, sync);
    // In its turn: the chunks, synced, then the batch that makes them the snapshot.
    return this.write(ops, sync, async () => {
      await this.writeSnapshotChunks(snap);
      return this.staleChunkDeletes(snap.meta.index);
    });
  }

  /** A snapshot the local state machine took: stores it and deletes entries <= compactTo
   * (compactTo <= snapshot index; entries in between stay for slow followers). Synced. */
  async saveLocalSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> {
    this.throwIfFailed();
    const { last, snapIndex } = this.bounds;
    const { index } = snapshot.meta;
    if (index <= snapIndex) {
      throw new StorageUsageError(`expected a snapshot newer than the stored one at ${snapIndex}, got one at ${index}`);
    }
    if (index > last) throw new StorageUsageError(`expected a snapshot at most at the last index ${last}, got one at ${index}`);
    if (compactTo > index) {
      throw new StorageUsageError(`expected to compact at most up to the snapshot index ${index}, got compactTo ${compactTo}`);
    }
    // The data goes first, beside the chain, so appends issued meanwhile do not wait for it:
    // its keys are its own, and nothing refers to them until the meta below does.
    const chunks = this.writeSnapshotChunks(snapshot);
    this.chunking = chunks.catch(() => undefined);
    await chunks;
    this.throwIfFailed();
    const now = this.bounds;
    if (index <= now.snapIndex) {
      // A leader's snapshot was stored meanwhile: this one is stale, and its chunks go.
      return this.write([], false, () => this.staleChunkDeletes(now.snapIndex));
    }
    const ops: BatchOp[] = [];
    pushSnapshotMeta(ops, snapshot);
    for (let i = now.offset + 1; i <= compactTo; i++) ops.push({ type: 'del', key: entryKey(i) });
    // The stored commit must not fall below the snapshot's index (load checks it): a deferred
    // commit, which is at or beyond what was applied, goes with it.
    this.pushHardState(ops, null);
    this.bounds = { offset: Math.max(now.offset, compactTo), last: now.last, snapIndex: index };
    return this.write(ops, true, () => this.staleChunkDeletes(index));
  }

  /**
   * Writes a snapshot's data in chunks, each synced: a chunk's key names the snapshot, so none is
   * read until a meta naming that snapshot is written after them all (a crash in between leaves
   * chunks nothing refers to, deleted with the next snapshot past their index).
   */
  private async writeSnapshotChunks(snap: Snapshot): Promise<void> {
    const { index } = snap.meta;
    for (let at = 0, n = 0; at < snap.data.length; at += SNAPSHOT_CHUNK_BYTES, n++) {
      this.throwIfFailed();
      try {
        await this.db.put(snapshotChunkKey(index, n), snap.data.subarray(at, at + SNAPSHOT_CHUNK_BYTES), { sync: true });
      } catch (err) {
        this.failure = writeError(this.dir, err);
        throw this.failure;
      }
    }
  }

  /**
   * Deletes for the chunks of every snapshot older than the one at `keep`, and for the one-value
   * layout. Not newer ones: a local snapshot's chunks may be being written beside the chain.
   */
  private async staleChunkDeletes(keep: number): Promise<BatchOp[]> {
    let keys: string[];
    try {
      keys = await this.db.keys(SNAPSHOT_CHUNK_RANGE).all();
    } catch (err) {
      throw readError(this.dir, 'snapshot chunk keys', err);
    }
    const ops: BatchOp[] = [{ type: 'del', key: SNAPSHOT_DATA_KEY }];
    for (const key of keys) {
      const chunk = parseSnapshotChunkKey(key);
      if (chunk === null || chunk.index < keep) ops.push({ type: 'del', key });
    }
    return ops;
  }

  /** The data dir's identity record; null in a new data dir or one from before identities. */
  async loadIdentity(): Promise<LocalIdentity | null> {
    await this.tail;
    let raw: Uint8Array | undefined;
    try {
      raw = (await this.db.get(IDENTITY_KEY)) as Uint8Array | undefined;
    } catch (err) {
      throw readError(this.dir, `key ${IDENTITY_KEY}`, err);
    }
    if (raw === undefined) return null;
    const d = decodeIdentity(raw);
    if (!d.ok) throw new StorageCorruptionError(this.dir, IDENTITY_KEY, d.problem);
    return d.value;
  }

  /**
   * Writes the identity record, synced, in one batch with `initial` (the bootstrap entry of a
   * new data dir): a data dir never holds Raft state without knowing whose it is.
   */
  async saveIdentity(identity: LocalIdentity, initial: StorageUpdate | null = null): Promise<void> {
    this.throwIfFailed();
    const ops: BatchOp[] = [{ type: 'put', key: IDENTITY_KEY, value: encodeIdentity(identity) }];
    if (initial !== null) {
      if (initial.snapshot !== null) throw new StorageUsageError('expected no snapshot with an identity record');
      const { offset, snapIndex } = this.bounds;
      const last = initial.entries.length > 0 ? pushEntries(ops, initial.entries, offset, this.bounds.last) : this.bounds.last;
      this.pushHardState(ops, initial.hardState);
      this.bounds = { offset, last, snapIndex };
    }
    return this.write(ops, true);
  }

  /** Writes a deferred commit index, waits for pending writes (their failures are reported to
   * their callers), then closes. */
  async close(): Promise<void> {
    if (this.deferred.holding && this.failure === null) {
      const ops: BatchOp[] = [];
      this.pushHardState(ops, null);
      await this.write(ops, true).catch(() => undefined);
    }
    await this.chunking;
    await this.tail;
    await this.db.close();
  }

  /** Adds `hs`, or else the deferred hard state, to a batch; either way nothing is deferred after. */
  private pushHardState(ops: BatchOp[], hs: HardState | null): void {
    const value = this.deferred.take(hs);
    if (value !== null) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(value) });
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Writes `ops`, after what `before` writes and adds, in its turn in the chain. */
  private write(ops: BatchOp[], sync: boolean, before?: () => Promise<readonly BatchOp[]>): Promise<void> {
    const run = async (): Promise<void> => {
      this.throwIfFailed();
      try {
        const all = before === undefined ? ops : [...ops, ...(await before())];
        // A chained batch: about twice as fast as db.batch(array) for many small puts.
        const batch = this.db.batch();
        let stepBytes = 0;
        for (const op of all) {
          if (op.type === 'del') {
            batch.del(op.key);
            continue;
          }
          if (stepBytes >= BATCH_STEP_BYTES) {
            stepBytes = 0;
            await nextTurn();
          }
          const value = op.type === 'entry' ? encodeEntry(op.entry) : op.value;
          batch.put(op.key, value);
          stepBytes += value.length;
        }
        if (tracing) trace('storage.write', `ops=${ops.length} sync=${sync}`);
        await batch.write({ sync });
        if (tracing) trace('storage.done', `sync=${sync}`);
      } catch (err) {
        // A snapshot's chunks (writeSnapshotChunks) fail inside this write already described:
        // wrapped again, the cause was printed three times over in one line.
        this.failure = err instanceof StorageIoError ? err : writeError(this.dir, err);
        throw this.failure;
      }
    };
    const done = this.tail.then(run);
    this.tail = done.catch(() => undefined);
    return done;
  }
}

/** The meta that makes a snapshot's chunks (written before) the stored snapshot. */
function pushSnapshotMeta(ops: BatchOp[], snap: Snapshot): void {
  ops.push({ type: 'put', key: SNAPSHOT_META_KEY, value: encodeSnapshotMeta(snap.meta, snap.data) });
}

/** Adds puts for `entries` (skipping those <= offset) and deletes for a conflicting suffix
 * beyond them; returns the new last index. Throws on a gap, before anything is written. */
function pushEntries(ops: BatchOp[], entries: readonly Entry[], offset: number, last: number): number {
  const base = entries[0]!.index;
  for (let k = 0; k < entries.length; k++) {
    if (entries[k]!.index !== base + k) {
      throw new StorageUsageError(`expected contiguous entries from ${base}: position ${k} holds index ${entries[k]!.index}`);
    }
  }
  const newLast = base + entries.length - 1;
  if (newLast <= offset) return last; // all compacted already
  const start = Math.max(base, offset + 1);
  if (start > last + 1) {
    throw new StorageUsageError(`expected entries to start at most at ${last + 1} (last index + 1), got ${start}: that leaves a gap`);
  }
  for (let i = start - base; i < entries.length; i++) {
    const e = entries[i]!;
    ops.push({ type: 'entry', key: entryKey(e.index), entry: e });
  }
  for (let i = newLast + 1; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
  return newLast;
}
