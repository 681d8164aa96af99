/** Leadership and configuration audit events: each recorded once, with its reason. */
import t from 'tap';
import { LeadershipLog } from '../../src/membership/leadership-log.js';
import { confAuditEvent } from '../../src/membership/conf-audit.js';

const WALL = Date.parse('2026-11-23T10:00:00.000Z');

void t.test('leader.changed: election, transfer by operator (old -> new, how long), shutdown hand-off, a transfer seen by others', async (t) => {
  const log = new LeadershipLog('c1', 2000);
  const first = log.changed('c1', 2, 100, WALL, undefined);
  t.match(first, { event: { type: 'leader.changed', from: null, to: 'c1', reason: 'election: none -> c1 (term 2)' }, mark: '2:c1' });
  t.equal(log.changed('c1', 2, 150, WALL, '2:c1'), null, 'a term already recorded is not recorded again (a restart)');
  t.equal(log.changed(null, 3, 160, WALL, '2:c1'), null, 'no leader is not an event');
  log.timeoutNowSent('c2', 1000);
  t.match(log.changed('c2', 3, 1212, WALL, '2:c1')?.event, { from: 'c1', to: 'c2', reason: 'transfer by operator: c1 -> c2 in 212ms (term 3)' });
  log.shutdownStarted();
  log.timeoutNowSent('c3', 5000);
  t.match(log.changed('c3', 4, 5080, WALL, '3:c2')?.event, { from: 'c2', to: 'c3', reason: 'shutdown hand-off: c2 -> c3 in 80ms (term 4)' });
  const other = new LeadershipLog('c5', 2000);
  other.changed('c1', 2, 0, WALL, undefined);
  other.transferVote('c2', 3);
  t.match(other.changed('c2', 3, 500, WALL, '2:c1')?.event, { reason: 'transfer: c1 -> c2 (term 3)' }, 'a node that saw the transfer vote');
  const auto = new LeadershipLog('c1', 2000);
  auto.changed('c1', 2, 0, WALL, undefined);
  auto.preferredHandOff('c2');
  auto.timeoutNowSent('c2', 100);
  t.match(auto.changed('c2', 3, 136, WALL, '2:c1'), { event: { reason: 'preferred leader hand-off: c1 -> c2 in 36ms (term 3)' }, kind: 'preferred' }, "autopilot's hand-off is not blamed on an operator");
  auto.timeoutNowSent('c1', 200);
  t.match(auto.changed('c1', 4, 260, WALL, '3:c2'), { event: { reason: /^transfer by operator/ }, kind: 'operator' }, 'and the mark is used once');
  t.match(auto.changed('c3', 5, 9000, WALL, '4:c1'), { kind: 'election' });
  const late = new LeadershipLog('c1', 2000);
  late.timeoutNowSent('c2', 0);
  t.match(late.changed('c2', 3, 5000, WALL, undefined)?.event, { reason: 'election: none -> c2 (term 3)' }, 'a transfer that did not finish in time explains nothing');
});

void t.test('member.added and member.removed: once per Raft index, nothing from before this node was a member', async (t) => {
  const conf = { voters: ['c1', 'c2', 'c3'], learners: ['c4'] };
  const add = { type: 'add-learner' as const, node: 'c4', context: '127.0.0.1:7104' };
  const r = confAuditEvent({ self: 'c1', change: add, conf, index: 12, recordedMark: '9', wallClockMs: WALL });
  t.match(r, { event: { type: 'member.added', subject: 'c4', to: '127.0.0.1:7104', reason: 'added as learner' }, mark: '12' });
  t.equal(confAuditEvent({ self: 'c1', change: add, conf, index: 12, recordedMark: '12', wallClockMs: WALL }), null, 'replayed after a restart: not again');
  const history = { type: 'remove' as const, node: 'c0', context: '' };
  t.equal(confAuditEvent({ self: 'c9', change: history, conf, index: 5, recordedMark: undefined, wallClockMs: WALL }), null, 'a joining node records no history');
  const itself = { type: 'add-learner' as const, node: 'c9', context: '127.0.0.1:7109' };
  t.match(confAuditEvent({ self: 'c9', change: itself, conf: { voters: conf.voters, learners: ['c9'] }, index: 20, recordedMark: undefined, wallClockMs: WALL })?.event, { type: 'member.added', subject: 'c9' }, 'but the change that added it');
  t.equal(confAuditEvent({ self: 'c1', change: { type: 'promote', node: 'c4', context: '' }, conf, index: 13, recordedMark: '12', wallClockMs: WALL }), null, 'promotions are not audited here');
});
