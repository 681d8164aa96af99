/**
 * Raft paper §5.3 (log replication, with the fast back-tracking optimisation) and §5.4.2
 * (a leader commits entries of earlier terms only through an entry of its own term).
 *
 * §5.4.2 (a new leader commits an earlier term's entry through its no-op) is a text
 * scenario: testdata/new_leader_commits_previous_term.txt.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { ofType, Script } from '../sim/script.js';

void t.test('§5.3: fast back-tracking skips a long divergent log in one rejected append', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  // a, cut off, takes 30 proposals that will never commit.
  s.isolate('a');
  for (let i = 0; i < 30; i++) s.propose('a', `stale=${i}`);

  // b and c elect a leader that commits 30 entries of its own.
  s.runUntil(() => s.leaders().some((id) => id !== 'a'), ['b', 'c']);
  const first = s.leaders().find((id) => id !== 'a')!;
  for (let i = 0; i < 30; i++) s.propose(first, `fresh=${i}`);
  s.stabilize();
  // Hand leadership over so that the leader's progress for a starts at its own last index,
  // far beyond where a's log diverges.
  const leader = first === 'b' ? 'c' : 'b';
  s.act(first, (r) => r.transferLeadership(leader));
  s.stabilize();
  t.same(s.leaders().filter((id) => id !== 'a'), [leader], `${leader} now leads`);

  s.heal();
  const mark = s.sent.length;
  s.tick(leader);
  s.stabilize();
  const rejections = ofType(s.sent.slice(mark), 'AppendResp').filter((m) => m.from === 'a' && m.reject);
  t.equal(rejections.length, 1, 'one rejection, though 30 entries diverge (one per entry without the hint)');
  t.equal(s.status('a').lastIndex, s.status(leader).lastIndex, "a's log now ends where the leader's does");
  t.same(s.values('a'), s.values(leader), 'a applied exactly what the leader did');
  t.notOk(s.values('a').some((v) => v.startsWith('stale=')), 'none of its stale entries');
});

void t.test('§5.4.2 figure 8: a leader does not commit an entry of an earlier term by counting replicas', async (t) => {
  // One entry per append (tiny messages), so the script controls exactly which indexes arrive.
  const s = Script.create(['s1', 's2', 's3', 's4', 's5'], { maxMessageBytes: 1 });
  /** Lets s3's and s4's leases run out (their own campaigns go nowhere), then `id` campaigns until it wins. */
  const win = (id: string, drop: (m: Message) => boolean = () => false): void => {
    for (const o of ['s3', 's4']) {
      s.isolate(o);
      s.tick(o, s.electionTicks);
    }
    s.heal();
    s.isolate('s2'); // s2 sits out (b)-(d): it is not needed for any majority below
    for (let i = 0; i < 3 && s.status(id).role !== 'leader'; i++) {
      s.act(id, (r) => r.campaign());
      s.stabilize(drop);
    }
    if (s.status(id).role !== 'leader') throw new Error(`${id} did not win`);
  };
  const holdsX = (id: string, x: { index: number; term: number }): boolean => {
    const n = s.get(id);
    if (!n.up) return n.disk.lastIndex() >= x.index && n.disk.term(x.index) === x.term;
    return n.log().lastIndex() >= x.index && n.log().term(x.index) === x.term;
  };

  // (a) s1 leads at term 2 and gets x=1 (index 3) to s2 only.
  s.elect('s1');
  const x = s.propose('s1', 'x=1');
  s.stabilize((m) => (m.type === 'Append' && m.to !== 's2') || m.type === 'AppendResp');
  // (b) s1 crashes; s5 wins with s3 and s4 and appends its no-op at index 3, which reaches nobody.
  s.crash('s1', false);
  win('s5', (m) => m.from === 's5' && m.type === 'Append');
  const t5 = s.status('s5').term;
  s.crash('s5', false);
  // (c) s1 restarts, wins, and gets x=1 to s3 and s4, but not its own no-op after it.
  s.start('s1');
  win('s1', (m) => m.type === 'Append' && m.entries.some((e) => e.index > x.index) && holdsX(m.to, x));
  t.same(['s1', 's2', 's3', 's4'].filter((id) => holdsX(id, x)), ['s1', 's2', 's3', 's4'], 'x=1 (of term 2) is on four of five servers');
  t.ok(s.status('s1').term > t5, 's1 leads at a term after s5');
  t.ok(s.status('s1').commit < x.index, 'yet s1 does not count x=1 as committed');

  // (d) s1 crashes; s5, whose last entry is of term 3, wins and overwrites x=1 everywhere.
  s.crash('s1', false);
  s.start('s5');
  win('s5');
  s.heal();
  s.tick('s5');
  s.stabilize();
  for (const id of ['s2', 's3', 's4', 's5']) {
    t.notOk(holdsX(id, x), `${id} no longer holds x=1`);
    t.notOk(s.values(id).includes('x=1'), `${id} never applied it`);
  }
  // Safe only because x=1 was never committed: had s1 counted it, the checks in Script would
  // have seen s5 apply another entry at the index where s1 applied x=1.
});

void t.test('a commit notice goes unanswered: a commit costs one message per follower', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.stabilize();
  const mark = s.sent.length;
  const { index } = s.propose('a', 'x=1');
  s.stabilize();
  const sent = s.sent.slice(mark);
  const notices = ofType(sent, 'Append').filter((m) => m.commitOnly);
  t.same(notices.map((m) => m.to).sort(), ['b', 'c'], 'one commit notice to each follower');
  t.ok(notices.every((m) => m.entries.length === 0 && m.prevIndex === index && m.commit === index), 'each without entries, for the entry it commits');
  t.same(ofType(sent, 'AppendResp').map((m) => m.from).sort(), ['b', 'c'], 'one answer from each follower: for the entry, none for the notice');
  for (const id of ['b', 'c']) t.equal(s.status(id).commit, index, `${id} committed it from the notice`);
});

void t.test('a follower whose answer was lost is sent an append it answers at the next heartbeat', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.stabilize();
  const { index } = s.propose('a', 'x=1');
  let dropped = 0;
  s.stabilize((m) => m.type === 'AppendResp' && m.from === 'b' && dropped++ === 0);
  t.equal(dropped, 1, "b's answer for the entry was lost");
  t.equal(s.status('b').commit, index, 'b committed the entry from the notice');
  t.ok((s.status('a').progress.get('b')?.match ?? 0) < index, 'the leader does not know it yet: the notice went unanswered');
  const mark = s.sent.length;
  for (let i = 0; i < 10 && (s.status('a').progress.get('b')?.match ?? 0) < index; i++) {
    s.tick('a');
    s.stabilize();
  }
  t.equal(s.status('a').progress.get('b')?.match, index, "after a heartbeat the leader knows b's match");
  const toB = ofType(s.sent.slice(mark), 'Append').filter((m) => m.to === 'b');
  t.ok(toB.length > 0 && toB.every((m) => !m.commitOnly), 'from its answer to an append that was not a notice');
});

void t.test('a commit notice that does not match the follower is refused, and commits nothing', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.stabilize();
  const { index } = s.propose('a', 'x=1');
  // The notice claims an entry b does not hold (a forged or misdirected notice).
  s.deliver({ type: 'Append', from: 'a', to: 'b', term: s.status('a').term, prevIndex: index + 5, prevTerm: s.status('a').term, entries: [], commit: index + 5, commitOnly: true });
  const answers = s.take((m) => m.type === 'AppendResp' && m.from === 'b');
  t.equal(answers.length, 1, 'b answers it');
  t.ok(answers[0]?.type === 'AppendResp' && answers[0].reject, 'with a rejection');
  t.ok(s.status('b').commit < index + 5, 'and commits nothing it lacks');
});
