import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import t from 'tap';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { EMPTY_HARD_STATE } from '../../src/raft/types.js';
import { LevelRaftStorage, type PersistedState, type StorageUpdate } from '../../src/storage/level-raft-storage.js';
import { seededRng, type Rng } from '../../src/util/rng.js';

/** The storage's contract in a few lines: what load() must return after any sequence. */
class Model {
  hard: HardState = EMPTY_HARD_STATE;
  snap: Snapshot | null = null;
  /** ents[k] has index offset + 1 + k. */
  offset = 0;
  ents: Entry[] = [];

  get last(): number {
    return this.offset + this.ents.length;
  }
  get snapIndex(): number {
    return this.snap?.meta.index ?? 0;
  }
  termAt(i: number): number {
    return this.ents[i - this.offset - 1]!.term;
  }

  save(u: StorageUpdate): void {
    if (u.snapshot !== null) {
      this.snap = u.snapshot;
      this.offset = u.snapshot.meta.index;
      this.ents = [];
    }
    const kept = u.entries.filter((e) => e.index > this.offset);
    if (kept.length > 0) this.ents = [...this.ents.slice(0, kept[0]!.index - this.offset - 1), ...kept];
    if (u.hardState !== null) this.hard = u.hardState;
  }

  localSnapshot(snap: Snapshot, compactTo: number): void {
    this.snap = snap;
    if (compactTo > this.offset) {
      this.ents = this.ents.slice(compactTo - this.offset);
      this.offset = compactTo;
    }
  }

  expected(): PersistedState {
    return { hardState: this.hard, snapshot: this.snap, entries: this.ents.filter((e) => e.index > this.snapIndex) };
  }
}

function entries(rng: Rng, lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) {
    const data = new Uint8Array(rng.int(0, 40));
    for (let b = 0; b < data.length; b++) data[b] = rng.int(0, 256);
    out.push({ index: i, term, kind: rng.next() < 0.1 ? 'noop' : 'normal', data });
  }
  return out;
}

function snapshot(rng: Rng, index: number, term: number): Snapshot {
  const voters = ['c1', 'c2', 'c3'].slice(0, rng.int(1, 4));
  return { meta: { index, term, conf: { voters, learners: rng.next() < 0.5 ? ['c9'] : [] } }, data: new TextEncoder().encode(`s${index}`) };
}

async function run(t: Tap, seed: number, steps: number): Promise<void> {
  const rng = seededRng(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-random-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let store = await LevelRaftStorage.open(dir);
  const model = new Model();
  let term = 1;
  let pending: Promise<void>[] = [];
  const check = async (step: number): Promise<void> => {
    await Promise.all(pending);
    pending = [];
    await store.close();
    // No stale entry may linger on disk: exactly (offset, last] is stored.
    const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.open();
    const stored = (await raw.keys({ gte: 'e', lt: 'f' }).all()).map((k) => parseInt(k.slice(1), 16));
    await raw.close();
    t.same(stored, model.ents.map((e) => e.index), `seed ${seed}: entry keys on disk at step ${step}`);
    store = await LevelRaftStorage.open(dir);
    // load() recomputes the tracked bounds; skipping it sometimes tests the ones open() derives.
    if (step === steps || rng.next() < 0.5) {
      t.same(await store.load(), model.expected(), `seed ${seed}: state after reopen at step ${step}`);
    }
  };
  for (let step = 0; step < steps; step++) {
    if (rng.next() < 0.2) term += 1;
    const roll = rng.next();
    let write: Promise<void>;
    if (roll < 0.55) {
      // Append or overwrite a suffix; never below the snapshot (committed entries do not change).
      const start = rng.int(model.snapIndex + 1, model.last + 2);
      const ents = entries(rng, start, start + rng.int(0, 6), term);
      const hardState = rng.next() < 0.5 ? { term, vote: rng.next() < 0.5 ? 'c2' : null, commit: rng.int(0, start) } : null;
      const u: StorageUpdate = { hardState, entries: ents, snapshot: null };
      model.save(u);
      write = store.save(u, rng.next() < 0.5);
    } else if (roll < 0.7) {
      const u: StorageUpdate = { hardState: { term, vote: null, commit: model.last }, entries: [], snapshot: null };
      model.save(u);
      write = store.save(u, rng.next() < 0.5);
    } else if (roll < 0.8) {
      // A snapshot from the leader, possibly beyond our log, with the entries that follow it;
      // sometimes re-sending a few it covers, which must be skipped.
      const index = rng.int(model.snapIndex + 1, model.last + 6);
      const from = rng.next() < 0.3 ? Math.max(1, index - 2) : index + 1;
      const ents = rng.next() < 0.5 ? entries(rng, from, index + rng.int(1, 4), term) : [];
      const u: StorageUpdate = { hardState: { term, vote: null, commit: index }, entries: ents, snapshot: snapshot(rng, index, term) };
      model.save(u);
      write = store.save(u, true);
    } else if (roll < 0.9 && model.last > model.snapIndex) {
      const index = rng.int(model.snapIndex + 1, model.last + 1);
      const compactTo = rng.int(Math.max(0, index - 4), index + 1);
      const snap = snapshot(rng, index, model.termAt(index));
      model.localSnapshot(snap, compactTo);
      write = store.saveLocalSnapshot(snap, compactTo);
    } else {
      await check(step);
      continue;
    }
    // Usually await like the driver does; sometimes pipeline a few writes.
    if (rng.next() < 0.7) await write;
    else pending.push(write);
  }
  await check(steps);
  await store.close();
}
type Tap = { same: (a: unknown, b: unknown, msg: string) => boolean; teardown: (fn: () => void) => void };

for (const seed of [1, 2, 3, 0xdecaf]) {
  void t.test(`random saves, snapshots and compactions load back as the model predicts (seed ${seed})`, async (t) => {
    await run(t, seed, 150);
  });
}
