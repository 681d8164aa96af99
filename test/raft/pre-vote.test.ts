/**
 * Raft thesis §9.6 (pre-vote), §4.2.3 (leader stickiness) and §6.2 (check quorum): a node cut
 * off from the cluster must not disrupt it when it returns, and a leader cut off from a
 * majority must stop acting as one.
 *
 * §9.6 (a partitioned node pre-votes without bumping its term) is a text scenario:
 * testdata/prevote_partitioned_node.txt.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { Script } from '../sim/script.js';

void t.test('§4.2.3: followers that hear from their leader ignore a rejoining node campaigning at a higher term', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  const term = s.status('a').term;

  // c returns from a partition in the middle of a campaign at a much higher term.
  const ask = (type: 'PreVote' | 'Vote', to: string): Message =>
    type === 'Vote'
      ? { type, from: 'c', to, term: term + 5, lastLogIndex: 99, lastLogTerm: term, commit: 0, transfer: false }
      : { type, from: 'c', to, term: term + 5, lastLogIndex: 99, lastLogTerm: term, commit: 0 };
  s.deliver(ask('PreVote', 'b'));
  s.deliver(ask('Vote', 'b'));
  s.deliver(ask('Vote', 'a'));

  t.same(s.pending((m) => m.to === 'c'), [], 'nobody answers the campaign');
  t.equal(s.status('b').term, term, "b's term is unchanged");
  t.equal(s.status('b').vote, 'a', "b's vote is unchanged");
  t.equal(s.status('b').leader, 'a', 'b still follows a');
  t.same(s.leaders(), ['a'], 'a still leads');
  s.propose('a', 'x=2');
  s.stabilize();
  t.same(s.values('b'), ['x=1', 'x=2'], 'and keeps committing at the same term');
  t.equal(s.status('a').term, term, 'a is still at the same term');
});

void t.test('§6.2: check quorum steps down a leader that cannot reach a majority within two election timeouts', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('a');
  // Each check looks back one election timeout, and the first one after the cut still sees the
  // followers' last answers: so the leader goes between one and two timeouts after the cut.
  const et = s.electionTicks;
  let ticks = 0;
  while (s.status('a').role === 'leader' && ticks < 3 * et) {
    s.tick('a');
    ticks++;
  }
  t.ok(ticks > et - 1 && ticks <= 2 * et, `stepped down after ${ticks} ticks (election timeout ${et})`);
  t.equal(s.status('a').role, 'follower', 'a is a follower');
  t.equal(s.status('a').leader, null, 'that knows no leader');
  t.ok(s.refuses('a', 'NO_LEADER', (r) => r.propose(new Uint8Array([1]))), 'and refuses proposals, naming no leader');
});

void t.test('§6.2: a leader that hears from a majority keeps leading', async (t) => {
  const s = Script.create(['a', 'b', 'c', 'd', 'e']);
  s.elect('a');
  s.isolate('d');
  s.isolate('e');
  for (let i = 0; i < 5 * s.electionTicks; i++) {
    s.tick('a');
    s.stabilize();
  }
  t.same(s.leaders(), ['a'], 'three of five is enough');
});
