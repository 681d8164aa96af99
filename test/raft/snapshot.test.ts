/**
 * Raft paper §7 (log compaction): a follower that is behind the leader's compacted log is
 * brought up to date with InstallSnapshot, and keeps what it installed across a crash.
 */
import t from 'tap';
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
