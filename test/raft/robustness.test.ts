/**
 * Messages that should not exist: from nodes outside the configuration, or at absurd terms.
 * Leader stickiness (thesis §4.2.3) plus the membership checks must make them harmless.
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

void t.test('a message from an unknown node, or a vote at an impossibly high term while in lease, changes nothing', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=1');
  s.stabilize();
  const term = s.status('a').term;
  const before = snapshotOf(s);

  const forged: Message[] = [
    { type: 'Vote', from: 'zz', to: 'b', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE, transfer: false },
    { type: 'PreVote', from: 'zz', to: 'c', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE },
    { type: 'Vote', from: 'c', to: 'b', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE, transfer: false },
    { type: 'PreVote', from: 'b', to: 'a', term: IMPOSSIBLE, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE },
    { type: 'AppendResp', from: 'zz', to: 'a', term, reject: false, index: 999, rejectHint: 0, hintTerm: 0 },
    { type: 'HeartbeatResp', from: 'zz', to: 'a', term, context: '' },
    { type: 'ReadIndex', from: 'zz', to: 'a', term, context: 'zz-read' },
  ];
  for (const m of forged) s.deliver(m);

  t.same(snapshotOf(s), before, 'no term, vote, leader, role, commit or log changed anywhere');
  t.same(s.pending(), [], 'and nobody answered');
  s.propose('a', 'x=2');
  s.stabilize();
  t.same(s.values('c'), ['x=1', 'x=2'], 'the cluster carries on at the same term');
  t.equal(s.status('a').term, term, 'a is still at the same term');
});

void t.test('out of lease, a vote request from an unknown node is still refused', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('a');
  s.tick('b', s.settings.electionTicks); // b's lease on a has run out
  const term = s.status('b').term;
  s.deliver({ type: 'Vote', from: 'zz', to: 'b', term: term + 1, lastLogIndex: IMPOSSIBLE, lastLogTerm: IMPOSSIBLE, transfer: false });
  const answers = ofType(s.take((m) => m.from === 'b' && m.to === 'zz'), 'VoteResp');
  t.ok(answers.every((m) => m.reject), 'no vote was granted');
  t.not(s.status('b').vote, 'zz', 'b did not record a vote for it');
});
