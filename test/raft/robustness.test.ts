/**
 * Messages that should not exist: at absurd terms, or from nodes outside the configuration.
 *
 * Who may send a Raft message at all is the transport's identity check (a peer's certificate
 * names its member id and incarnation; src/transport/). The core votes by etcd's rule, whether
 * or not it counts the candidate as a voter (campaign_learner_must_vote.txt), so what it still
 * guarantees on its own is this: leader stickiness (thesis §4.2.3) makes campaigns harmless
 * while a leader is heard, one vote per term and the election restriction hold for any sender,
 * and nothing from outside the configuration counts towards a commit or a read quorum.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { ofType, Script } from '../sim/script.js';

const IMPOSSIBLE = 1_000_000_000;

function snapshotOf(s: Script): unknown {
  return [...s.nodes.keys()].map((id) => {
    const st = s.status(id);
    return { id, term: st.term, vote: st.vote, leader: st.leader, role: st.role, commit: st.commit, last: st.lastIndex };
  });
}

void t.test('while a leader is heard, campaigns at an impossibly high term, from members or not, change nothing', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  const term = s.status('a').term;
  const before = snapshotOf(s);

  const forged: Message[] = [
    { type: 'Vote', from: 'zz', to: 'b', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE, commit: 0, transfer: false },
    { type: 'PreVote', from: 'zz', to: 'c', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE , commit: 0},
    { type: 'Vote', from: 'c', to: 'b', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE, commit: 0, transfer: false },
    { type: 'PreVote', from: 'b', to: 'a', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE , commit: 0},
  ];
  for (const m of forged) s.deliver(m);

  t.same(snapshotOf(s), before, 'no term, vote, leader, role, commit or log changed anywhere');
  t.same(s.pending(), [], 'and nobody answered');
  s.propose('a', 'x=2');
  s.stabilize();
  t.same(s.values('c'), ['x=1', 'x=2'], 'the cluster carries on at the same term');
  t.equal(s.status('a').term, term, 'a is still at the same term');
});

void t.test('acknowledgements and read requests from a node outside the configuration count for nothing', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  const term = s.status('a').term;
  // b and c are cut off: only a forged acknowledgement could make x=1 commit.
  s.isolate('b');
  s.isolate('c');
  const x = s.propose('a', 'x=1');
  const commit = s.status('a').commit;
  t.ok(commit < x.index, 'x=1 waits for a quorum');

  s.deliver({ type: 'AppendResp', from: 'zz', to: 'a', term, reject: false, index: x.index, rejectHint: 0, hintTerm: 0 });
  s.deliver({ type: 'HeartbeatResp', from: 'zz', to: 'a', term, context: '' });
  s.deliver({ type: 'ReadIndex', from: 'zz', to: 'a', term, context: 'zz-read' });
  t.equal(s.status('a').commit, commit, 'a forged acknowledgement does not commit x=1');
  t.same(s.values('a'), [], 'nothing was applied');
  t.same(s.pending((m) => m.to === 'zz'), [], 'and the read request went unanswered');

  s.heal();
  s.tick('a');
  s.stabilize();
  t.same(s.values('c'), ['x=1'], 'once the voters answer, x=1 commits');
});

void t.test('out of lease, a node answers a vote request whether or not it counts the candidate as a voter (etcd rule; unknown senders are the transport\'s to refuse)', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  s.isolate('a');
  s.tick('b', s.electionTicks); // b's lease on a has run out
  const term = s.status('b').term;
  const last = s.status('b').lastIndex;

  // A candidate b does not count as a voter (a learner promoted by an entry b has not seen
  // committed), whose log is as up to date as b's: b grants its vote.
  s.deliver({ type: 'Vote', from: 'd', to: 'b', term: term + 1, lastLogIndex: last, lastLogTerm: term, commit: 0, transfer: false });
  const granted = ofType(s.take((m) => m.from === 'b' && m.to === 'd'), 'VoteResp');
  t.equal(granted.length, 1, 'b answered the candidate');
  t.equal(granted[0]?.reject, false, 'and granted its vote');
  t.equal(s.status('b').vote, 'd', 'which it recorded');
  t.equal(s.get('b').disk.hardState().vote, 'd', 'on disk before the answer went out');

  // The core's own guarantees hold for every sender: one vote per term...
  s.deliver({ type: 'Vote', from: 'c', to: 'b', term: term + 1, lastLogIndex: last, lastLogTerm: term, commit: 0, transfer: false });
  const second = ofType(s.take((m) => m.from === 'b' && m.to === 'c'), 'VoteResp');
  t.same(second.map((m) => m.reject), [true], 'a second candidate at that term is refused');
  // ...and the election restriction: a candidate whose log is behind is refused.
  s.deliver({ type: 'Vote', from: 'e', to: 'b', term: term + 2, lastLogIndex: 1, lastLogTerm: 1, commit: 0, transfer: false });
  const behind = ofType(s.take((m) => m.from === 'b' && m.to === 'e'), 'VoteResp');
  t.same(behind.map((m) => m.reject), [true], 'a candidate with a stale log is refused');
  t.not(s.status('b').vote, 'e', 'and gets no vote');
});
