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

void t.test('§9.6: of two voters pre-voting at once with equal logs, the one whose id sorts later steps back, and the other is elected in one round', async (t) => {
  const s = Script.create(['a', 'b']);
  const term = s.status('a').term;
  // Both time out together: each pre-votes before the other's pre-vote arrives.
  s.act('a', (h) => h.campaign());
  s.act('b', (h) => h.campaign());
  t.same([s.status('a').role, s.status('b').role], ['pre-candidate', 'pre-candidate'], 'both pre-campaign');
  const [toB] = s.take((m) => m.type === 'PreVote' && m.to === 'b');
  s.deliver(toB!);
  t.equal(s.status('b').role, 'follower', "b granted a's pre-vote and stepped back");
  t.equal(s.status('b').term, term, 'its term unchanged');
  t.ok(
    s.pending((m) => m.type === 'PreVoteResp' && m.from === 'b').every((m) => m.type === 'PreVoteResp' && !m.reject),
    'and its answer is a grant',
  );
  s.stabilize();
  t.same(s.leaders(), ['a'], 'a is elected');
  t.equal(s.status('a').term, term + 1, 'at the next term: no split vote, no second round');
  t.equal(s.status('b').vote, 'a', 'b voted for a');
});

void t.test('§9.6: a pre-candidate steps back for a peer at most once per term, so a peer that cannot win delays it by one timeout at most', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  const term = s.status('b').term;
  const preVote = (): Message => ({ type: 'PreVote', from: 'a', to: 'b', term: term + 1, lastLogIndex: s.status('b').lastIndex, lastLogTerm: term, commit: 0 });
  s.act('b', (h) => h.campaign());
  s.deliver(preVote());
  t.equal(s.status('b').role, 'follower', 'b stepped back for a');
  // a's campaign goes nowhere (c never hears it). b times out and pre-votes again, same term.
  s.take(() => true);
  s.runUntil(() => s.status('b').role === 'pre-candidate', ['b']);
  s.deliver(preVote());
  t.equal(s.status('b').role, 'pre-candidate', 'the second time, b grants and campaigns on');
  s.take((m) => m.to === 'a');
  s.stabilize();
  t.same(s.leaders(), ['b'], 'and c elects it');
});

void t.test('§9.6: a pre-candidate does not step back for a peer whose id sorts later, nor for one whose log is behind', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  const st = s.status('b');
  s.isolate('a');
  s.runUntil(() => s.status('b').role === 'pre-candidate', ['b']);
  s.take(() => true);
  s.deliver({ type: 'PreVote', from: 'c', to: 'b', term: st.term + 1, lastLogIndex: st.lastIndex, lastLogTerm: st.term, commit: 0 });
  t.equal(s.status('b').role, 'pre-candidate', 'c sorts after b: b campaigns on');
  s.deliver({ type: 'PreVote', from: 'a', to: 'b', term: st.term + 1, lastLogIndex: st.lastIndex - 1, lastLogTerm: st.term, commit: 0 });
  t.equal(s.status('b').role, 'pre-candidate', "a's log is behind b's: refused, and b campaigns on");
});
