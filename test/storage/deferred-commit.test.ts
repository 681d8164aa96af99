import t from 'tap';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { DeferredCommit } from '../../src/storage/deferred-commit.js';

const hs = (commit: number): HardState => ({ term: 2, vote: 'c1', commit });
const entry: Entry = { index: 5, term: 2, kind: 'normal', data: new Uint8Array([1]) };
const snapshot: Snapshot = { meta: { index: 4, term: 2, conf: { voters: ['c1'], learners: [] } }, data: new Uint8Array() };

void t.test('only an unsynced update that carries nothing but a hard state is held', async (t) => {
  const d = new DeferredCommit();
  t.notOk(d.hold({ hardState: hs(3), entries: [], snapshot: null }, true), 'a synced one is written');
  t.notOk(d.hold({ hardState: hs(3), entries: [entry], snapshot: null }, false), 'one with entries is written');
  t.notOk(d.hold({ hardState: hs(3), entries: [], snapshot }, false), 'one with a snapshot is written');
  t.notOk(d.hold({ hardState: null, entries: [], snapshot: null }, false), 'an empty one holds nothing');
  t.notOk(d.holding);
  t.ok(d.hold({ hardState: hs(3), entries: [], snapshot: null }, false));
  t.ok(d.hold({ hardState: hs(4), entries: [], snapshot: null }, false), 'a later one replaces it');
  t.same(d.take(), hs(4), 'the next write carries the latest');
  t.notOk(d.holding, 'and nothing is held after');
  t.equal(d.take(), null);
});

void t.test('a write with its own hard state carries that one and drops the held one', async (t) => {
  const d = new DeferredCommit();
  d.hold({ hardState: hs(3), entries: [], snapshot: null }, false);
  t.same(d.take(hs(5)), hs(5));
  t.notOk(d.holding);
});
