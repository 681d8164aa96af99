/**
 * Raft thesis §4: single-server membership changes, applied when their entry is applied.
 * Learners (§4.2.1) replicate the log but neither vote nor count towards commit.
 *
 * §4.2.2 (a leader that removes itself) is a text scenario: testdata/leader_removes_itself.txt;
 * promoting a learner into two voters is testdata/campaign_learner_must_vote.txt.
 */
import t from 'tap';
import type { ConfEntry } from '../../src/raft/index.js';
import { Script } from '../sim/script.js';

const change = (type: ConfEntry['type'], node: string): ConfEntry =>
  type === 'bootstrap' ? { type, voters: [node], context: '' } : { type, node, context: '' };

void t.test('§4.2.1: a learner replicates but neither votes nor counts towards commit', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.addNode('d');
  s.act('a', (r) => r.proposeConfChange(change('add-learner', 'd')));
  s.stabilize();
  s.tick('a');
  s.stabilize();
  t.same(s.status('a').conf, { voters: ['a', 'b', 'c'], learners: ['d'] }, 'd is a learner');
  t.equal(s.status('d').applied, s.status('a').applied, 'd has caught up');

  // With only the learner reachable, the leader cannot commit.
  s.isolate('b');
  s.isolate('c');
  const before = s.status('a').commit;
  const x = s.propose('a', 'x=1');
  s.stabilize();
  t.equal(s.status('d').lastIndex, x.index, 'the learner has the entry');
  t.equal(s.status('a').commit, before, 'but its copy does not count towards commit');

  // A learner never campaigns, however long it hears nothing, and nobody asks it for a vote.
  s.heal();
  s.isolate('a');
  s.tick('d', 10 * s.electionTicks);
  s.runUntil(() => s.leaders().some((id) => id !== 'a'), ['b', 'c', 'd']);
  t.notOk(s.sent.some((m) => m.from === 'd' && (m.type === 'PreVote' || m.type === 'Vote')), 'd never asked for a vote');
  t.notOk(s.sent.some((m) => m.to === 'd' && (m.type === 'PreVote' || m.type === 'Vote')), 'and was never asked for one');
});

void t.test('§4.2.1: a learner is promoted only once it has caught up', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  for (let i = 0; i < 5; i++) s.propose('a', `k=${i}`);
  s.stabilize();
  s.addNode('d');
  s.isolate('d');
  s.act('a', (r) => r.proposeConfChange(change('add-learner', 'd')));
  s.stabilize();
  t.ok(
    s.refuses('a', 'INVALID_CONF_CHANGE', (r) => r.proposeConfChange(change('promote', 'd'))),
    'promoting a learner that lags is refused',
  );

  s.heal();
  s.tick('a');
  s.stabilize();
  s.act('a', (r) => r.proposeConfChange(change('promote', 'd')));
  s.stabilize();
  t.same(s.status('a').conf, { voters: ['a', 'b', 'c', 'd'], learners: [] }, 'once caught up, d becomes a voter');
  t.same(s.status('d').conf.voters, ['a', 'b', 'c', 'd'], 'and knows it');
});

void t.test('§4.1: only one membership change may be pending at a time', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.isolate('b');
  s.isolate('c');
  s.addNode('d');
  s.act('a', (r) => r.proposeConfChange(change('add-learner', 'd')));
  t.ok(
    s.refuses('a', 'CONF_CHANGE_PENDING', (r) => r.proposeConfChange(change('remove', 'c'))),
    'a second change waits until the first is applied',
  );
  s.heal();
  s.stabilize();
  s.act('a', (r) => r.proposeConfChange(change('remove', 'c')));
  s.stabilize();
  t.same(s.status('a').conf, { voters: ['a', 'b'], learners: ['d'] }, 'after which it goes through');
});
