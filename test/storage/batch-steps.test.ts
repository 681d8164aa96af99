/**
 * Attack round 11 (A1): a leader's Ready of 25 entries of 1 MB was encoded and copied into
 * LevelDB's batch in one go, holding its event loop 0.8 s on a loaded host; no heartbeat left
 * meanwhile and its followers elected another leader. A batch is now built about 1 MiB per turn
 * of the event loop, so timers and sockets have their turn in between.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Entry } from '../../src/raft/types.js';
import { LevelRaftStorage } from '../../src/storage/level-raft-storage.js';

interface Batch {
  put(key: unknown, value: unknown): unknown;
  close(): Promise<void>;
}

function entries(n: number, bytes: number): Entry[] {
  return Array.from({ length: n }, (_, i) => ({ index: i + 1, term: 1, kind: 'normal', data: new Uint8Array(bytes).fill(i + 1) }));
}

/**
 * Saves `written` on a fresh store and returns the turn of the event loop each value entered
 * the batch in (a turn ends at the check phase, where a callback set at its first put counts it),
 * and what the store holds after.
 */
async function saveCountingTurns(t: { teardown: (fn: () => void) => void }, written: Entry[]): Promise<{ turns: number[]; loaded: readonly Entry[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-steps-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = await LevelRaftStorage.open(dir);
  const probe = (s as unknown as { db: { batch(): Batch } }).db.batch();
  const proto = Object.getPrototypeOf(probe) as Batch;
  await probe.close();
  const put = proto.put;
  const turns: number[] = [];
  let turn = 0;
  let counting = false;
  proto.put = function (this: Batch, key: unknown, value: unknown) {
    turns.push(turn);
    if (!counting) {
      counting = true;
      setImmediate(() => {
        turn++;
        counting = false;
      });
    }
    return put.call(this, key, value);
  };
  try {
    await s.save({ hardState: { term: 1, vote: 'c1', commit: 0 }, entries: written, snapshot: null }, true);
  } finally {
    proto.put = put;
  }
  const loaded = (await s.load()).entries;
  await s.close();
  return { turns: turns.slice(0, written.length), loaded };
}

function same(a: readonly Entry[], b: readonly Entry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.index === b[i]!.index && Buffer.from(e.data).equals(b[i]!.data));
}

void t.test('a batch of large entries is built over several turns of the event loop, and stores them all', async (t) => {
  const written = entries(8, 1024 * 1024);
  const { turns, loaded } = await saveCountingTurns(t, written);
  t.ok(new Set(turns).size >= 4, `8 entries of 1 MiB went in over several turns (turns ${turns.join(', ')})`);
  t.ok(same(loaded, written), 'and every entry is stored');
});

void t.test('a batch of small entries is built in one turn', async (t) => {
  const written = entries(100, 1000);
  const { turns, loaded } = await saveCountingTurns(t, written);
  t.equal(new Set(turns).size, 1, 'one turn');
  t.ok(same(loaded, written));
});
