/**
 * The health rule, one property per test: each of the four criteria, failure tolerance,
 * the cluster's verdict, and stable-since.
 */
import t from 'tap';
import {
  assessHealth,
  describeProblem,
  failureTolerance,
  INITIAL_HEALTH_STATE,
  type HealthInput,
  type HealthState,
  type MemberObservation,
} from '../../src/autopilot/health.js';

/** A member the leader heard from 10 ms ago on its term, fully caught up. */
function fine(id: string, over: Partial<MemberObservation> = {}): MemberObservation {
  return { id, voter: true, online: true, lastContactAt: 990, term: 7, match: 100, ...over };
}

function input(members: readonly MemberObservation[], over: Partial<HealthInput> = {}): HealthInput {
  return {
    now: 1000,
    wallClockMs: 1_700_000_000_000,
    leader: { id: 'c1', term: 7, lastIndex: 100, commit: 100 },
    members,
    settings: { lastContactThresholdMs: 200, maxTrailingLogs: 10 },
    commitStall: { stalledMs: 0, limitMs: 1000 },
    ...over,
  };
}

const report = (i: HealthInput) => assessHealth(INITIAL_HEALTH_STATE, i).report;

void t.test('a member online, heard from within the threshold, on the leading term and within max_trailing_logs is healthy', async (t) => {
  const r = report(input([fine('c1'), fine('c2'), fine('c3', { match: 90 })]));
  t.ok(r.healthy);
  t.strictSame(
    r.members.map((m) => [m.id, m.healthy, m.lastContactMs, m.term, m.lagEntries]),
    [
      ['c1', true, 0, 7, 0],
      ['c2', true, 10, 7, 0],
      ['c3', true, 10, 7, 10],
    ],
  );
  t.equal(r.reason, '');
});

void t.test('each criterion alone makes a member unhealthy, and says which', async (t) => {
  const cases: Array<[string, Partial<MemberObservation>, RegExp]> = [
    ['offline', { online: false }, /^offline$/],
    ['silent past the threshold', { lastContactAt: 799 }, /last heard from 201ms ago \(threshold 200ms\)/],
    ['never heard from', { lastContactAt: null }, /never heard from/],
    ['on an older term', { term: 6 }, /on term 6, the leader's is 7/],
    ['not answered in this term', { term: null }, /has not answered in the leader's term 7/],
    ['too far behind', { match: 89 }, /11 entries behind \(at most 10\)/],
  ];
  for (const [what, over, message] of cases) {
    const m = report(input([fine('c1'), fine('c2', over)])).members[1]!;
    t.equal(m.healthy, false, what);
    t.equal(m.problems.length, 1, `${what}: one problem`);
    t.match(describeProblem(m.problems[0]!), message, what);
  }
  const edge = report(input([fine('c1'), fine('c2', { lastContactAt: 800, match: 90 })])).members[1]!;
  t.ok(edge.healthy, 'exactly at the threshold and exactly max_trailing_logs behind is still healthy');
});

void t.test('the leader is healthy by its own account', async (t) => {
  const r = report(input([fine('c1', { online: false, lastContactAt: null, term: null, match: 0 })]));
  t.strictSame([r.members[0]!.healthy, r.members[0]!.lastContactMs, r.members[0]!.term, r.members[0]!.lagEntries], [true, 0, 7, 0]);
});

void t.test('failure tolerance: healthy voters that could fail with a quorum left', async (t) => {
  t.equal(failureTolerance(3, 3), 1);
  t.equal(failureTolerance(3, 2), 0);
  t.equal(failureTolerance(5, 5), 2);
  t.equal(failureTolerance(5, 4), 1);
  t.equal(failureTolerance(4, 4), 1);
  t.equal(failureTolerance(1, 1), 0);
  t.equal(failureTolerance(3, 1), 0, 'never negative');
  const r = report(input([fine('c1'), fine('c2'), fine('c3'), fine('c4', { voter: false }), fine('c5', { online: false })]));
  t.equal(r.voters, 4, 'learners do not count');
  t.equal(r.healthyVoters, 3);
  t.equal(r.failureTolerance, 0, '3 healthy of 4 voters: a quorum of 3, nothing to spare');
  t.ok(r.healthy);
});

void t.test('the cluster is unhealthy without a quorum of healthy voters, or with a stalled commit', async (t) => {
  const noQuorum = report(input([fine('c1'), fine('c2', { term: 6 }), fine('c3', { online: false })]));
  t.notOk(noQuorum.healthy);
  t.match(noQuorum.reason, /no quorum of healthy voters: 1 of 3, need 2 \(c2: on term 6, the leader's is 7; c3: offline\)/);
  const stalled = report(input([fine('c1'), fine('c2'), fine('c3')], { commitStall: { stalledMs: 1500, limitMs: 1000 } }));
  t.notOk(stalled.healthy);
  t.match(stalled.reason, /leader c1's commit index \(100\) has not moved for 1500ms while entries up to 100 wait/);
  // As etcd's health while its NOSPACE alarm stands: a cluster that takes no growing write is not healthy.
  const refusing = report(input([fine('c1'), fine('c2'), fine('c3')], { writesRefused: "the leader refuses every write that grows the state: the disk of c3's data dir has 5 bytes free, below ..." }));
  t.notOk(refusing.healthy);
  t.match(refusing.reason, /^the leader refuses every write that grows the state: the disk of c3's data dir/);
  t.ok(report(input([fine('c1'), fine('c2'), fine('c3')], { writesRefused: null })).healthy, 'null: writes pass');
  const learnerSick = report(input([fine('c1'), fine('c2'), fine('c3'), fine('c4', { voter: false, online: false })]));
  t.ok(learnerSick.healthy, 'an unhealthy learner does not make the cluster unhealthy');
  t.equal(learnerSick.failureTolerance, 1);
});

void t.test('stable-since moves only when a member flips between healthy and unhealthy', async (t) => {
  let state: HealthState = INITIAL_HEALTH_STATE;
  const step = (now: number, c2: Partial<MemberObservation>) => {
    const r = assessHealth(state, input([fine('c1', { lastContactAt: now }), fine('c2', { lastContactAt: now - 10, ...c2 })], { now, wallClockMs: 5_000 + now }));
    state = r.state;
    return r.report.members[1]!;
  };
  const first = step(1000, {});
  t.strictSame([first.healthy, first.stableSince, first.stableSinceMono], [true, 6000, 1000], 'first seen: stable since now');
  t.equal(step(2000, { match: 95 }).stableSince, 6000, 'still healthy (a change of lag within bounds): unchanged');
  const sick = step(3000, { online: false });
  t.strictSame([sick.healthy, sick.stableSince], [false, 8000], 'unhealthy: since now');
  t.equal(step(3500, { term: 6, online: false }).stableSince, 8000, 'unhealthy for another reason: still since it went unhealthy');
  const back = step(4000, {});
  t.strictSame([back.healthy, back.stableSince, back.stableSinceMono], [true, 9000, 4000], 'healthy again: since now');
  const gone = assessHealth(state, input([fine('c1')], { now: 5000 })).state;
  t.notOk(gone.since.has('c2'), 'a member that left is forgotten');
});

void t.test('members are reported in id order whatever order they come in', async (t) => {
  const r = report(input([fine('c3'), fine('c1'), fine('c2')]));
  t.strictSame(r.members.map((m) => m.id), ['c1', 'c2', 'c3']);
});
