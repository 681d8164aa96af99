/**
 * Dead-member cleanup, one limit per test: the threshold, the leader's own view, min_quorum,
 * the failure tolerance, a healthy quorum left, one change at a time, and the audit reason.
 */
import t from 'tap';
import { decideCleanup, type CleanupInput, type CleanupMember } from '../../src/autopilot/cleanup.js';

const HOUR = 3_600_000;
const NOW = 1_700_000_000_000;

const alive = (id: string, over: Partial<CleanupMember> = {}): CleanupMember => ({ id, voter: true, healthy: true, online: true, offlineSince: null, seenOfflineForMs: null, ...over });
/** Offline (committed) since `agoMs`, seen so by this leader all along, and neither online nor healthy in its view. */
const down = (id: string, agoMs: number, over: Partial<CleanupMember> = {}): CleanupMember => ({
  id,
  voter: true,
  healthy: false,
  online: false,
  offlineSince: NOW - agoMs,
  seenOfflineForMs: agoMs,
  ...over,
});

function input(members: readonly CleanupMember[], over: Partial<CleanupInput> & { minQuorum?: number; enabled?: boolean } = {}): CleanupInput {
  return {
    wallClockMs: NOW,
    self: 'c1',
    members,
    settings: { enabled: over.enabled ?? true, deadServerThresholdMs: 24 * HOUR, minQuorum: over.minQuorum ?? 2 },
    changeInFlight: false,
    ...over,
  };
}

void t.test('a voter offline longer than dead_server_threshold is removed, with the reason', async (t) => {
  const d = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 25 * HOUR)]));
  t.equal(d.remove?.id, 'c3');
  t.match(d.remove?.reason, /^autopilot: offline for 25\.0h, longer than autopilot\.dead_server_threshold 24\.0h \(2 voters left, min_quorum 2\)$/);
  t.equal(d.held, null);
  t.strictSame(d.voters.map((v) => [v.id, v.verdict]), [['c2', 'alive'], ['c3', 'dead']]);
});

void t.test('nothing happens while cleanup is off', async (t) => {
  const d = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 25 * HOUR)], { enabled: false }));
  t.equal(d.remove, null);
  t.strictSame(d.voters, []);
});

void t.test('a voter offline for less than the threshold waits', async (t) => {
  const d = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 23 * HOUR)]));
  t.equal(d.remove, null);
  t.strictSame(d.voters[1], { id: 'c3', verdict: 'waiting', offlineForMs: 23 * HOUR, remainingMs: HOUR });
});

void t.test("the leader's own view must agree: a member it sees online or healthy now is alive, whatever the record says", async (t) => {
  for (const over of [{ online: true }, { healthy: true }]) {
    const d = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 30 * HOUR, over)]));
    t.equal(d.remove, null, JSON.stringify(over));
    t.equal(d.voters[1]?.verdict, 'alive');
  }
  const undecided = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 30 * HOUR, { offlineSince: null })]));
  t.equal(undecided.remove, null, 'no committed offline-since: never removed');
});

void t.test('learners and the leader itself are never removed', async (t) => {
  const d = decideCleanup(input([down('c1', 30 * HOUR), alive('c2'), alive('c3'), down('c4', 30 * HOUR, { voter: false })]));
  t.equal(d.remove, null);
  t.strictSame(d.voters.map((v) => v.id), ['c2', 'c3']);
});

void t.test('cleanup never leaves fewer voters than min_quorum', async (t) => {
  const members = [alive('c1'), alive('c2'), alive('c3'), alive('c4'), down('c5', 30 * HOUR)];
  t.equal(decideCleanup(input(members, { minQuorum: 4 })).remove?.id, 'c5', '5 -> 4 voters with min_quorum 4');
  const held = decideCleanup(input(members, { minQuorum: 5 }));
  t.equal(held.remove, null, '5 -> 4 voters with min_quorum 5 is refused');
  t.match(held.held, /would leave 4 voters, below autopilot\.min_quorum 5/);
});

void t.test('a configuration that tolerates no failure is never pruned', async (t) => {
  const held = decideCleanup(input([alive('c1'), down('c2', 30 * HOUR)], { minQuorum: 0 }));
  t.equal(held.remove, null);
  t.match(held.held, /2 voters tolerate no failure/);
});

void t.test('the voters left must keep a quorum of healthy voters', async (t) => {
  // 5 voters: c1, c2 healthy; c3 unhealthy but not long enough offline; c4, c5 dead.
  const members = [alive('c1'), alive('c2'), down('c3', HOUR), down('c4', 30 * HOUR), down('c5', 31 * HOUR)];
  const held = decideCleanup(input(members, { minQuorum: 3 }));
  t.equal(held.remove, null, 'removing c5 would leave 2 healthy of 4 voters, short of 3');
  t.match(held.held, /leave 2 healthy of 4 voters, short of a quorum \(3\)/);
  const ok = decideCleanup(input([alive('c1'), alive('c2'), alive('c3'), down('c4', 30 * HOUR), down('c5', 31 * HOUR)], { minQuorum: 3 }));
  t.equal(ok.remove?.id, 'c5', 'with 3 healthy, the one offline longest goes first');
});

void t.test('one removal at a time: none while a membership change is in flight', async (t) => {
  const d = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 25 * HOUR)], { changeInFlight: true }));
  t.equal(d.remove, null);
  t.match(d.held, /membership change is in flight/);
});

void t.test('removals repeated as each applies shrink the cluster down to min_quorum and stop there', async (t) => {
  let members: CleanupMember[] = [alive('c1'), alive('c2'), alive('c3'), alive('c4'), down('c5', 40 * HOUR), down('c6', 30 * HOUR), down('c7', 26 * HOUR)];
  const removed: string[] = [];
  let last = decideCleanup(input(members, { minQuorum: 5 }));
  for (let round = 0; round < 10 && last.remove !== null; round++) {
    const id = last.remove.id;
    removed.push(id);
    members = members.filter((m) => m.id !== id);
    last = decideCleanup(input(members, { minQuorum: 5 }));
  }
  t.strictSame(removed, ['c5', 'c6'], 'longest offline first, until min_quorum 5');
  t.equal(members.filter((m) => m.voter).length, 5);
  t.match(last.held, /removing c7 would leave 4 voters, below autopilot\.min_quorum 5/);
});

void t.test('the time offline is the shorter of the wall clock and what this leader has seen: a wall clock stepped ahead does not hasten a removal', async (t) => {
  // Offline 10 s by the leader's monotonic clock, 2 h by a wall clock stepped +2 h since.
  const stepped = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 2 * HOUR, { seenOfflineForMs: 10_000 })], { settings: { enabled: true, deadServerThresholdMs: HOUR, minQuorum: 2 } }));
  t.equal(stepped.remove, null, 'kept');
  t.strictSame(stepped.voters[1], { id: 'c3', verdict: 'waiting', offlineForMs: 10_000, remainingMs: HOUR - 10_000, byWallClockMs: 2 * HOUR });
  const notSeen = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 30 * HOUR, { seenOfflineForMs: null })]));
  t.equal(notSeen.remove, null, 'a record this leader has not seen yet waits');
  const seenLong = decideCleanup(input([alive('c1'), alive('c2'), down('c3', 2 * HOUR, { seenOfflineForMs: HOUR })], { settings: { enabled: true, deadServerThresholdMs: HOUR, minQuorum: 2 } }));
  t.equal(seenLong.remove?.id, 'c3', 'removed once the monotonic time passes the threshold');
  t.match(seenLong.remove?.reason, /^autopilot: offline for 1\.0h/, 'the reason gives the time counted');
});
