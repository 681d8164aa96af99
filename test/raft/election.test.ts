/**
 * Raft paper §5.1, §5.2 and §5.4.1: terms, voting, and the election restriction.
 * Each test is a short script over test/sim/script.ts; the simulation's safety checks run
 * after every delivery as well.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { ofType, Script } from '../sim/script.js';

void t.test('§5.1: a follower rejects an append from a stale term and tells the old leader the new term', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  const oldTerm = s.status('a').term;

  // a is cut off; b and c elect one of them at a newer term.
  s.isolate('a');
  const newLeader = (): string | undefined => s.leaders().find((id) => id !== 'a');
  s.runUntil(() => newLeader() !== undefined, ['b', 'c']);
  const nl = newLeader()!;
  const newTerm = s.status(nl).term;
  t.ok(newTerm > oldTerm, `${nl} leads at a newer term`);

  // a comes back still believing it leads, and appends x=2 at its old term.
  s.heal();
  const before = { b: s.status('b').lastIndex, c: s.status('c').lastIndex };
  const stale = s.propose('a', 'x=2');
  t.equal(stale.term, oldTerm, 'the stale append carries the old term');
  const toFollowers = s.take((m) => m.from === 'a' && m.type === 'Append');
  t.equal(toFollowers.length, 2, 'a sent its append to b and c');
  for (const m of toFollowers) s.deliver(m);

  t.equal(s.status('b').lastIndex, before.b, 'b did not take the stale entry');
  t.equal(s.status('c').lastIndex, before.c, 'c did not take the stale entry');
  t.equal(s.status('b').term, newTerm, "b's term is unchanged");
  const replies = s.pending((m) => m.to === 'a' && m.type === 'AppendResp');
  t.equal(replies.length, 2, 'both answered the stale leader');
  t.ok(replies.every((m) => m.term === newTerm), 'with the newer term');

  s.stabilize();
  t.equal(s.status('a').role, 'follower', 'the old leader stepped down');
  t.equal(s.status('a').term, newTerm, 'and adopted the newer term');
  s.propose(nl, 'x=3');
  s.stabilize();
  t.notOk(s.values('a').includes('x=2'), 'the stale entry was never applied');
  t.same(s.values('a'), ['x=1', 'x=3'], 'a converged on the new leader');
});

void t.test('§5.2: a node grants at most one vote per term', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  const term = s.status('c').term + 1;
  const vote = (from: string): Message => ({ type: 'Vote', from, to: 'c', term, lastLogIndex: 1, lastLogTerm: 1, commit: 0, transfer: false });

  s.deliver(vote('a'));
  s.deliver(vote('b'));
  s.deliver(vote('a')); // a retransmission of the vote already granted
  const answers = ofType(s.take((m) => m.from === 'c'), 'VoteResp');

  t.same(
    answers.map((m) => [m.to, m.reject]),
    [
      ['a', false],
      ['b', true],
      ['a', false],
    ],
    'granted to a, refused to b, granted again to a',
  );
  t.equal(s.status('c').vote, 'a', 'the vote is recorded');
  t.same(s.get('c').disk.hardState().vote, 'a', 'and was on disk before the answer went out');
});

void t.test('§5.4.1: a candidate whose log is behind a majority cannot win', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  // c misses x=1, which a and b commit.
  s.isolate('c');
  s.propose('a', 'x=1');
  s.stabilize();
  t.same(s.values('b'), ['x=1'], 'x=1 is committed on a and b');

  // The leader disappears; c comes back and is the first to time out.
  s.heal();
  s.isolate('a');
  s.tick('b', s.electionTicks); // b's lease on a expires
  s.runUntil(() => s.status('c').role === 'pre-candidate', ['c']);
  s.stabilize();
  const refusals = ofType(s.sent, 'PreVoteResp').filter((m) => m.from === 'b' && m.to === 'c');
  t.ok(refusals.length > 0 && refusals.every((m) => m.reject), 'b refuses c: its log is more up to date');
  t.not(s.status('c').role, 'leader', 'c did not win');

  s.runUntil(() => s.leaders().some((id) => id !== 'a'), ['b', 'c']);
  t.same(s.leaders().filter((id) => id !== 'a'), ['b'], 'only b, which holds x=1, can win');
  t.same(s.values('b'), ['x=1'], 'the committed entry survives');
});

void t.test('§5.2: a grant that arrives after the candidate timed out and pre-votes again still counts for its term', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.act('a', (h) => h.campaign());
  // The pre-votes go through; the answers to a's Vote requests are held back.
  s.runUntil(() => s.status('a').role === 'candidate' && s.pending((m) => m.type === 'Vote').length === 0, []);
  const term = s.status('a').term;
  s.stabilize((m) => m.type === 'VoteResp');
  t.same(s.pending(), [], 'b and c answered, and the answers are lost for now');
  const late = (from: string): Message => ({ type: 'VoteResp', from, to: 'a', term, reject: false });

  // a's election timeout runs out before any answer arrives: it pre-votes again, at the same term.
  s.runUntil(() => s.status('a').role === 'pre-candidate', ['a']);
  s.take(() => true);
  t.equal(s.status('a').term, term, 'still at the term of its election');
  t.equal(s.status('a').vote, 'a', 'still voting for itself');

  s.deliver({ type: 'VoteResp', from: 'c', to: 'a', term, reject: true });
  t.equal(s.status('a').role, 'pre-candidate', 'a late refusal elects nobody');
  s.deliver(late('b'));
  t.equal(s.status('a').role, 'leader', 'a late grant does: with its own vote, a majority of this term');
  t.equal(s.status('a').term, term, 'at the term those votes were for');
  s.propose('a', 'x=1');
  s.stabilize();
  t.same(s.values('b'), ['x=1'], 'and it leads: b applies its write');
  t.same(s.values('c'), ['x=1'], 'and so does c');
});

void t.test('§5.2: a late grant counts only for the pre-candidate that ran that election, at that term', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  const term = s.status('a').term;
  // b never ran at this term: a grant "for" it is nothing.
  s.isolate('a');
  s.runUntil(() => s.status('b').role === 'pre-candidate', ['b']);
  s.take(() => true);
  s.deliver({ type: 'VoteResp', from: 'c', to: 'b', term, reject: false });
  t.equal(s.status('b').role, 'pre-candidate', 'b, which voted for a at this term, is not elected by it');
  t.equal(s.status('b').term, term, 'and its term is unchanged');
});
