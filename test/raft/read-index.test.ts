/**
 * Raft thesis §6.4: linearizable reads through ReadIndex. The leader records its commit index,
 * confirms with a quorum that it still leads, and the read is served once that index is applied.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { ofType, Script } from '../sim/script.js';

void t.test('§6.4: ReadIndex on a leader that has not committed in its term waits for its no-op', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.act('a', (r) => r.campaign());
  s.runUntil(() => s.status('a').role === 'leader', []);
  const noop = s.status('a').lastIndex;
  t.ok(s.status('a').commit < noop, 'a leads but its no-op is not committed');

  s.act('a', (r) => r.readIndex('r1'));
  t.same(s.reads.get('a') ?? [], [], 'the read is held back');

  s.stabilize();
  t.same(s.reads.get('a'), [{ index: noop, context: 'r1' }], 'and answered at the no-op once it commits');
});

void t.test('§6.4: a follower read is served once the follower applied the leader commit index', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  // x=1 commits through a and c; every append to b is lost for now.
  const toB = (m: Message): boolean => m.to === 'b' && m.type === 'Append';
  const x = s.propose('a', 'x=1');
  s.stabilize(toB);
  t.ok(s.status('a').commit >= x.index, 'x=1 is committed');

  s.act('b', (r) => r.readIndex('f1'));
  s.stabilize(toB);
  const answer = ofType(s.sent, 'ReadIndexResp').find((m) => m.to === 'b');
  t.ok(answer && answer.index >= x.index, 'the leader answered b with a read index covering x=1');
  t.ok(s.status('b').applied < x.index, 'b has not applied that far');
  t.same(s.reads.get('b') ?? [], [], 'so the read is not served yet');

  s.tick('a');
  s.stabilize();
  const served = s.reads.get('b') ?? [];
  t.equal(served.length, 1, 'served once b caught up');
  t.ok(served[0]!.index >= x.index, 'at an index covering x=1');
  t.equal(s.get('b').sm.get('x')?.value, '1', 'so the read sees x=1');
});

void t.test('§6.4: a deposed leader in a minority cannot serve a read', async (t) => {
  const s = Script.create(['a', 'b', 'c', 'd', 'e']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();

  // {a, b} | {c, d, e}: the majority elects a new leader and commits x=2.
  for (const x of ['a', 'b']) for (const y of ['c', 'd', 'e']) s.cut(x, y);
  s.runUntil(() => s.leaders().some((id) => id !== 'a'), ['c', 'd', 'e']);
  const leader = s.leaders().find((id) => id !== 'a')!;
  s.propose(leader, 'x=2');
  s.stabilize();
  t.equal(s.get(leader).sm.get('x')?.value, '2', 'x=2 is acknowledged on the majority side');

  s.act('a', (r) => r.readIndex('stale'));
  s.stabilize();
  t.equal(s.status('a').role, 'leader', 'a still believes it leads (b still follows it)');
  t.same(s.reads.get('a') ?? [], [], 'but two acknowledgements of five do not serve a read');
});

void t.test('a lost ReadIndex is asked for again: the read is served while the cluster is healthy, not at its deadline', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  const x = s.propose('a', 'x=1');
  s.stabilize();

  s.act('b', (r) => r.readIndex('f1'));
  let lost = 0;
  // The first ask is lost on the way, as a batch on a link still reconnecting to a restarted leader is.
  s.stabilize((m) => m.type === 'ReadIndex' && lost++ === 0);
  t.equal(lost, 1, "b's first ReadIndex was lost");
  t.same(s.reads.get('b') ?? [], [], 'the read waits');

  // Time passes on a healthy cluster: heartbeats flow both ways, and b asks again.
  let rounds = 0;
  while ((s.reads.get('b') ?? []).length === 0 && rounds < 200) {
    for (const id of ['a', 'b', 'c']) s.tick(id);
    s.stabilize();
    rounds++;
  }
  const asks = ofType(s.sent, 'ReadIndex').filter((m) => m.from === 'b');
  t.equal(asks.length, 2, 'b asked once more');
  t.equal(asks[1]?.context, asks[0]?.context, 'for the same read');
  const served = s.reads.get('b') ?? [];
  t.equal(served.length, 1, `the read was served (after ${rounds} rounds of 15 ms)`);
  t.ok(served[0]!.index >= x.index, 'at an index covering x=1');
  t.equal(s.leaders().join(), 'a', 'with no leader change in between');
});

void t.test('an answer to a read asked before a restart never serves a read asked after it', async (t) => {
  // Found by the simulation (seed 403864): contexts counted from 1 again after a restart, so
  // the leader's late answer to the old read served the new one at an index older than a write
  // acknowledged before the new read was asked.
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  s.act('b', (r) => r.readIndex('before'));
  // The leader answers, but the answer is still on its way when b crashes.
  s.stabilize((m) => m.type === 'ReadIndexResp');
  const late = ofType(s.sent, 'ReadIndexResp').filter((m) => m.to === 'b');
  t.equal(late.length, 1, 'the leader answered the read');
  s.crash('b');
  s.start('b');
  const y = s.propose('a', 'y=2');
  s.stabilize();
  t.ok(late[0]!.index < y.index, 'the late answer names an index from before y=2');
  s.act('b', (r) => r.readIndex('after'));
  s.deliver(late[0]!);
  t.same(s.reads.get('b') ?? [], [], 'the late answer serves nothing');
  s.stabilize();
  const served = s.reads.get('b') ?? [];
  t.same(served.map((r) => r.context), ['after'], 'the new read is served by its own answer');
  t.ok(served[0]!.index >= y.index, 'at an index covering y=2, acknowledged before it was asked');
});
