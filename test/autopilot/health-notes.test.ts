/**
 * What the leader's health row says besides its problems (src/autopilot/health-notes.ts): two
 * processes speaking as a member are named, and a member online by its heartbeats while silent
 * in Raft is explained; neither changes the verdict autopilot acts on.
 */
import t from 'tap';
import { assessHealth, describeMember, INITIAL_HEALTH_STATE, type HealthInput, type MemberObservation } from '../../src/autopilot/health.js';
import { decodeHealth, reportToWire } from '../../src/api/health-wire.js';
import { healthTable } from '../../src/cli/health-output.js';

function fine(id: string, over: Partial<MemberObservation> = {}): MemberObservation {
  return { id, voter: true, online: true, lastContactAt: 990, term: 7, match: 100, ...over };
}

function input(members: readonly MemberObservation[]): HealthInput {
  return {
    now: 100_000,
    wallClockMs: 1_700_000_000_000,
    leader: { id: 'c1', term: 7, lastIndex: 100, commit: 100 },
    members: members.map((m) => ({ ...m, lastContactAt: m.lastContactAt === null ? null : m.lastContactAt + 99_000 })),
    settings: { lastContactThresholdMs: 200, maxTrailingLogs: 10 },
    commitStall: { stalledMs: 0, limitMs: 1000 },
  };
}

const report = (members: readonly MemberObservation[]) => assessHealth(INITIAL_HEALTH_STATE, input(members)).report;

void t.test("the adversarial test's row: a copy took the id, pings arrive, Raft is silent: online and silent, and why", async (t) => {
  // Last heard in Raft 93,593 ms ago, not on the leader's term, far behind; the copy's pings keep it online.
  const r = report([fine('c1'), fine('c2'), fine('c3', { lastContactAt: 1000 - 93_593, term: null, match: 40, duplicate: { secondMsAgo: null, holderWasProven: true } })]);
  const c3 = r.members[2]!;
  t.equal(c3.online, true, 'online stays the reconciled status');
  t.equal(c3.healthy, false);
  t.strictSame(c3.notes.map((n) => n.kind), ['duplicate', 'heartbeatsOnly']);
  const reason = describeMember(c3);
  t.match(reason, /^last heard from 93593ms ago \(threshold 200ms\), has not answered in the leader's term 7, 60 entries behind \(at most 10\), /, 'the problems first, as before');
  t.match(reason, /DUPLICATE_PROCESS: two processes speak as c3 \(the process heard now took the id over after it was proven a second process\); the one shown may be a copy of its data dir/);
  t.match(reason, /online by its membership heartbeats only: it has not answered the leader in Raft for 93593ms$/);
  t.equal(reportToWire(r, 'c1', { id: null, note: '' }).members[2]!.reason, reason, 'the wire carries the same reason');
});

void t.test('a refused copy beside a working member: named, verdict unchanged', async (t) => {
  const r = report([fine('c1'), fine('c2', { duplicate: { secondMsAgo: 120, holderWasProven: false } }), fine('c3')]);
  const c2 = r.members[1]!;
  t.equal(c2.healthy, true, 'the member itself answers: healthy');
  t.strictSame(c2.problems, []);
  t.match(describeMember(c2), /^DUPLICATE_PROCESS: two processes speak as c2 \(a second process was heard beside it 120ms ago\)/);
  t.ok(r.healthy);
  t.equal(r.failureTolerance, 1, 'the verdict autopilot reads is as without the note');
  const wire = reportToWire(r, 'c1', { id: null, note: '' });
  t.strictSame(wire.members.map((m) => m.duplicateProcess), [false, true, false], 'scripts read the mark as a field, not from the reason text');
  t.strictSame(decodeHealth(wire).members.map((m) => m.duplicateProcess), [false, true, false], 'and ctl decodes it');
  const older = { ...wire, members: wire.members.map(({ duplicateProcess: _, ...rest }) => rest) };
  t.strictSame(decodeHealth(older).members.map((m) => m.duplicateProcess), [false, false, false], 'a server without the field reports none');
  t.match(healthTable(decodeHealth(wire)), /c2 +voter +yes +yes\(dup\)/, 'the table marks it as list controllers does');
});

void t.test('no notes on a healthy member, an offline one, or the leader', async (t) => {
  const r = report([fine('c1', { duplicate: { secondMsAgo: 5, holderWasProven: false } }), fine('c2'), fine('c3', { online: false, lastContactAt: null })]);
  t.strictSame(r.members.map((m) => m.notes.length), [0, 0, 0]);
  t.equal(describeMember(r.members[2]!), 'offline, never heard from by the leader');
  const never = report([fine('c1'), fine('c2', { lastContactAt: null, term: null })]).members[1]!;
  t.match(describeMember(never), /online by its membership heartbeats only: it has never answered the leader in Raft$/);
});

void t.test('the cluster reason names the duplicate of an unhealthy voter', async (t) => {
  const r = report([fine('c1'), fine('c2', { term: null, duplicate: { secondMsAgo: 10, holderWasProven: false } }), fine('c3', { online: false })]);
  t.notOk(r.healthy);
  t.match(r.reason, /c2: has not answered in the leader's term 7, DUPLICATE_PROCESS: two processes speak as c2/);
});
