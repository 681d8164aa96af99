/**
 * Raft thesis §3.10: leadership transfer. The leader stops taking proposals, brings the target
 * up to date, and tells it to campaign at once (TimeoutNow), bypassing the others' leases.
 *
 * The plain hand-off is a text scenario: testdata/transfer_leadership.txt.
 */
import t from 'tap';
import { ofType, Script } from '../sim/script.js';

void t.test('§3.10: a transfer to a lagging follower first brings it up to date', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('c');
  for (let i = 0; i < 5; i++) s.propose('a', `k=${i}`);
  s.stabilize();
  s.heal();

  s.act('a', (r) => r.transferLeadership('c'));
  const first = s.pending((m) => m.to === 'c');
  t.same(first.map((m) => m.type), ['Append'], 'entries go first, not TimeoutNow');
  s.stabilize();
  t.same(s.leaders(), ['c'], 'then c takes over');
  t.same(s.values('c'), ['k=0', 'k=1', 'k=2', 'k=3', 'k=4'], 'holding every entry');
  t.equal(ofType(s.sent, 'TimeoutNow').length, 1, 'after exactly one TimeoutNow');
});

void t.test('a lost TimeoutNow is said again at the next heartbeat answer, not left to lapse', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.act('a', (r) => r.transferLeadership('b'));
  t.equal(s.take((m) => m.type === 'TimeoutNow').length, 1, 'b was up to date: TimeoutNow went at once, and is lost');
  s.stabilize();
  t.same(s.leaders(), ['a'], 'nothing else moves the transfer');
  let ticks = 0;
  while (ticks < s.electionTicks && s.leaders().includes('a')) {
    s.tick('a');
    s.stabilize();
    ticks++;
  }
  t.same(s.leaders(), ['b'], 'the heartbeat answer from b brought a second TimeoutNow, and b took over');
  t.ok(ticks < s.electionTicks / 2, `after ${ticks} ticks: a heartbeat, not the transfer's lapse (${s.electionTicks})`);
  t.equal(ofType(s.sent, 'TimeoutNow').length, 2, 'two in all');
});

void t.test('§3.10: a transfer that does not finish within an election timeout is abandoned', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('b');
  s.act('a', (r) => r.transferLeadership('b'));
  t.equal(s.status('a').leadTransferee, 'b', 'the transfer is under way');
  for (let i = 0; i < s.electionTicks; i++) {
    s.tick('a');
    s.stabilize();
  }
  t.equal(s.status('a').leadTransferee, null, 'after an election timeout it is abandoned');
  t.same(s.leaders(), ['a'], 'a still leads');
  s.propose('a', 'x=1');
  s.stabilize();
  t.same(s.values('c'), ['x=1'], 'and takes proposals again');
});
