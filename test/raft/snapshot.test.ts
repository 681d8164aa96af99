/**
 * Raft paper §7 (log compaction): a follower that is behind the leader's compacted log is
 * brought up to date with InstallSnapshot, and keeps what it installed across a crash.
 */
import t from 'tap';
import { bootstrapState, MemoryStorage, RawNode } from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';
import { ofType, Script } from '../sim/script.js';

void t.test('§7: a snapshot brings a follower that is behind the compacted log up to date', async (t) => {
  const s = Script.create(['a', 'b', 'c'], { snapshotEvery: 5, snapshotTrailing: 0 });
  s.elect('a');
  s.isolate('c');
  for (let i = 0; i < 20; i++) s.propose('a', `k${i % 4}=${i}`);
  s.stabilize();
  t.ok(s.status('a').firstIndex > s.status('c').lastIndex + 1, "the leader compacted the entries c is missing");

  s.heal();
  const mark = s.sent.length;
  s.tick('a');
  s.stabilize();
  const snaps = ofType(s.sent.slice(mark), 'InstallSnapshot').filter((m) => m.to === 'c');
  t.equal(snaps.length, 1, 'the leader sent c one snapshot');
  t.equal(s.status('c').applied, s.status('a').applied, 'c applied as far as the leader');
  t.same([...s.get('c').sm.records()], [...s.get('a').sm.records()], "c's state equals the leader's");

  s.propose('a', 'after=1');
  s.stabilize();
  t.equal(s.get('c').sm.get('after')?.value, '1', 'and c keeps up through ordinary appends afterwards');
});

void t.test('§7: a follower that crashes right after installing a snapshot restarts from it', async (t) => {
  const s = Script.create(['a', 'b', 'c'], { snapshotEvery: 5, snapshotTrailing: 0 });
  s.elect('a');
  s.isolate('c');
  for (let i = 0; i < 12; i++) s.propose('a', `k=${i}`);
  s.stabilize();
  s.heal();
  s.tick('a');
  s.stabilize();
  const installed = s.status('c').applied;

  s.crash('c', true); // lose every write that was not synced
  s.start('c');
  t.equal(s.status('c').applied, installed, 'the snapshot survived the crash');
  t.equal(s.get('c').sm.get('k')?.value, '11', 'and so did the state it carries');
});

void t.test("a conf entry handed out before a leader's snapshot covered it does not set the older configuration back (seed 10433)", async (t) => {
  // A new learner d holds the bootstrap entry (the first voters), committed, not yet applied.
  const storage = new MemoryStorage({ voters: [], learners: [] });
  const b = bootstrapState(['a', 'b', 'c'], '');
  storage.append([b.entry]);
  storage.setHardState(b.hardState);
  const node = new RawNode({
    id: 'd', storage, rng: seededRng(7), electionTicks: 10, heartbeatTicks: 1, applied: 0,
    maxMessageBytes: 1 << 20, maxInflight: 16, maxApplyBytes: 1 << 20,
  });
  const rd = node.ready();
  const handedOut = rd.committedEntries.find((e) => e.kind === 'conf');
  t.ok(handedOut, 'the driver is handed the bootstrap entry to apply');
  // Before the driver applies it, the leader's snapshot arrives: at 16, with d a learner.
  const conf = { voters: ['a', 'b', 'c'], learners: ['d'] };
  node.step({ type: 'InstallSnapshot', from: 'a', to: 'd', term: 3, snapshot: { meta: { index: 16, term: 3, conf }, data: new Uint8Array(0) } });
  t.same(node.status().conf, conf, 'the snapshot makes d a learner');
  const applied = node.applyConfChange(handedOut!);
  t.same(applied, { change: null, conf }, 'the older entry, applied after, changes nothing');
  node.advance(rd);
  t.same(node.status().conf, conf, 'd is still a learner of its own configuration');
});
