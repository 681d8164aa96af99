/**
 * The last check before an agent is reported offline (src/agents/offline-check.ts): an agent
 * live on another controller, whose claim there has not committed, is not reported offline by
 * the controller it left; once nobody serves it, it is.
 */
import t from 'tap';
import { OfflineCheck, type OfflineCandidate } from '../../src/agents/offline-check.js';
import type { LiveAgent } from '../../src/agents/types.js';
import { SimAgent, SimController, SimLog, advance, applyCmd, settle, svc } from './hub-harness.js';

const candidate = (id: string, session: string): OfflineCandidate => ({ entry: { op: 'disconnect', id, session, reason: 'stream closed', pushes: 0 }, departure: null });
const row = (id: string, controller: string, session: string, departing = false): LiveAgent => ({ id, controller, session, lastContactMs: 0, heartbeatTimeoutMs: 1000, departing, publish: null });

void t.test('one question at a time; only a row of another controller on another stream holds an agent', async (t) => {
  const check = new OfflineCheck('c1');
  t.equal(check.ask(), null, 'nothing to ask');
  for (const id of ['a', 'b', 'c', 'd', 'e']) check.add(candidate(id, `c1-${id}`));
  t.same(check.ask(), ['a', 'b', 'c', 'd', 'e']);
  check.add(candidate('f', 'c1-f'));
  t.equal(check.ask(), null, 'a second question waits for the answer to the first');
  t.equal(check.size, 6);
  check.forget('e');
  const verdict = check.answered([
    row('a', 'c2', 'c2-a'), // live elsewhere: held
    row('b', 'c1', 'c1-other'), // this controller's own row: not a reason
    row('c', 'c2', 'c2-c', true), // departing there, its claim uncommitted too: held
    row('d', 'c2', 'c1-d'), // the very stream that left: not a reason
    row('f', 'c2', 'c2-f'), // not asked about yet
  ]);
  t.same(verdict.held.map(([c, r]) => `${c.entry.id}@${r.controller}`), ['a@c2', 'c@c2']);
  t.same(verdict.report.map((c) => c.entry.id), ['b', 'd'], 'e was forgotten (its agent came back)');
  t.same(check.ask(), ['f'], 'the next question');
});

void t.test('a forget is held by any row: this controller\'s own, or on the very stream its record names', async (t) => {
  const check = new OfflineCheck('c1');
  const forget = (id: string, session: string): OfflineCandidate => ({ entry: { op: 'forget', id, session, reason: 'gone' }, departure: null });
  for (const id of ['a', 'b', 'c', 'd']) check.add(forget(id, `c2-${id}`));
  t.same(check.ask(), ['a', 'b', 'c', 'd']);
  const verdict = check.answered([
    row('a', 'c1', 'c1-a'), // live here, its claim not committed yet
    row('b', 'c2', 'c2-b'), // the stream the offline record names, still open there
    row('c', 'c3', 'c3-c', true), // departing elsewhere
  ]);
  t.same(verdict.held.map(([c, r]) => `${c.entry.id}@${r.controller}`), ['a@c1', 'b@c2', 'c@c3']);
  t.same(verdict.report.map((c) => c.entry.id), ['d'], 'only an agent with no row anywhere is gone');
});

/**
 * a1 served by c1, then moved to c2, whose reports are held up (its claim cannot commit);
 * `checked`: c1 asks c2 for its live agents before reporting a1 offline.
 */
function movedToHeldUp(checked: boolean): { clock: { now: number }; c1: SimController; c2: SimController; a: SimAgent; timeout: number } {
  const served = servedByC1();
  const { clock, c1, c2, a } = served;
  if (checked) c1.elsewhere = () => c2.hub.live(clock.now);
  c2.reportsHeld = true;
  a.disconnect();
  a.connect(c2);
  return served;
}

/** a1 served by c1, with c2 beside it. */
/** c1 and c2 on one log at 1 s, service web applied. */
function twoControllers(): { clock: { now: number }; c1: SimController; c2: SimController } {
  const log = new SimLog();
  const clock = { now: 1000 };
  const c1 = new SimController('c1', log, clock);
  const c2 = new SimController('c2', log, clock);
  for (const c of [c1, c2]) c.tick();
  log.propose(applyCmd(svc('web')));
  return { clock, c1, c2 };
}

function servedByC1(): { clock: { now: number }; c1: SimController; c2: SimController; a: SimAgent; timeout: number } {
  const { clock, c1, c2 } = twoControllers();
  const a = new SimAgent('a1');
  a.connect(c1);
  settle([c1, c2]);
  return { clock, c1, c2, a, timeout: c1.record('a1')!.timeoutMs };
}

const statusAudits = (c: SimController): string[] => c.audits.filter((e) => e.type === 'agent.status' && e.subject === 'a1').map((e) => `${e.from}->${e.to}`);

void t.test('an agent that moved to a controller whose claim is held up is not shown offline meanwhile', async (t) => {
  const { clock, c1, c2, a, timeout } = movedToHeldUp(true);
  const wait = 3 * (timeout + c1.hub.graceMs(timeout));
  advance(clock, [c1, c2], wait);
  t.match(c1.record('a1'), { online: true, controller: 'c1' }, `after ${wait}ms the record still says online (c2's claim has not committed)`);
  t.ok(c1.logs.some((l) => /live on another controller/.test(l)), 'c1 says why it holds the report');
  t.ok(c1.hub.counters.offlineHeld >= 2, `and counts it (${c1.hub.counters.offlineHeld} held, one per grace)`);
  c2.reportsHeld = false;
  advance(clock, [c1, c2], 500);
  t.match(c1.record('a1'), { online: true, controller: 'c2' }, 'the claim commits');
  for (const c of [c1, c2]) t.same(statusAudits(c), ['null->online'], `${c.id}: no offline flap`);
  // Once no controller serves it, it goes offline.
  a.disconnect();
  advance(clock, [c1, c2], wait);
  t.match(c1.record('a1'), { online: false });
});

void t.test('without the check the same move shows the agent offline (what the check prevents)', async (t) => {
  const { clock, c1, c2, timeout } = movedToHeldUp(false);
  advance(clock, [c1, c2], 3 * (timeout + c1.hub.graceMs(timeout)));
  t.match(c1.record('a1'), { online: false }, 'c1 heard of no other controller serving it');
  c2.reportsHeld = false;
  advance(clock, [c1, c2], 500);
  t.same(statusAudits(c1), ['null->online', 'online->offline', 'offline->online'], 'an offline flap');
});

void t.test('an agent that leaves its new controller while held gets its grace from its last contact there, then goes offline', async (t) => {
  const { clock, c1, c2, a, timeout } = movedToHeldUp(true);
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 200);
  t.match(c1.record('a1'), { online: true, controller: 'c1' }, 'held while c2 serves it');
  a.disconnect();
  const left = clock.now;
  advance(clock, [c1, c2], timeout);
  t.match(c1.record('a1'), { online: true }, 'within its timeout of leaving c2: still held');
  while (c1.record('a1')!.online && clock.now - left < 10_000) advance(clock, [c1, c2], 50);
  const took = clock.now - left;
  t.ok(took >= timeout && took <= timeout + 2 * c1.hub.graceMs(timeout) + 100, `offline ${took}ms after it left c2 (timeout ${timeout}ms, grace ${c1.hub.graceMs(timeout)}ms)`);
});

void t.test('a controller cut off from the quorum decides no offline check: it asks once it hears a quorum and a leader again', async (t) => {
  const { clock, c1, c2, a, timeout } = servedByC1();
  // Cut off, c1 hears nobody's answer.
  c1.elsewhere = () => (c1.quorum ? c2.hub.live(clock.now) : []);
  c1.quorum = false;
  advance(clock, [c1, c2], 1000);
  t.equal(c1.hub.activeCount, 0, 'c1 shed a1 once cut off');
  a.disconnect();
  // Past a1's timeout and grace on c1, a1 moves to c2, whose claim is held up.
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 500);
  c2.reportsHeld = true;
  a.connect(c2);
  advance(clock, [c1, c2], 500);
  c1.quorum = true;
  advance(clock, [c1, c2], 2000);
  t.match(c1.record('a1'), { online: true }, 'c1, back, asked c2 and held its report');
  c2.reportsHeld = false;
  advance(clock, [c1, c2], 500);
  t.match(c1.record('a1'), { online: true, controller: 'c2' }, 'the claim commits');
  for (const c of [c1, c2]) t.same(statusAudits(c), ['null->online'], `${c.id}: no offline flap`);
});

void t.test('a disconnect whose report has to be sent again is asked about again first: the agent may have moved meanwhile', async (t) => {
  const { clock, c1, c2, a, timeout } = servedByC1();
  // c1's reports wait (a leader it cannot reach); a1 leaves, nobody serves it: judged offline.
  c1.reportsHeld = true;
  a.disconnect();
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 300);
  const inFlight = c1.hub.takeReport(clock.now) ?? [];
  t.match(inFlight, [{ op: 'disconnect', id: 'a1' }], 'the disconnect is in the report in flight');
  // Meanwhile a1 moves to c2, whose claim is held up too.
  c2.reportsHeld = true;
  a.connect(c2);
  advance(clock, [c1, c2], 200);
  c1.elsewhere = () => c2.hub.live(clock.now);
  // The report failed and is about to go again: its disconnect is asked about again instead.
  const again = c1.hub.recheckOffline(inFlight);
  t.same(again, [], 'nothing left to send');
  c1.hub.reportCommitted(again);
  c1.reportsHeld = false;
  advance(clock, [c1, c2], 1000);
  t.match(c1.record('a1'), { online: true, controller: 'c1' }, 'held: a1 is live on c2');
  t.ok(c1.logs.some((l) => /live on another controller/.test(l)), 'c1 says why');
  c2.reportsHeld = false;
  advance(clock, [c1, c2], 500);
  t.match(c1.record('a1'), { online: true, controller: 'c2' }, 'the claim commits');
  for (const c of [c1, c2]) t.same(statusAudits(c), ['null->online'], `${c.id}: no offline flap`);
  t.same(c1.hub.recheckOffline([{ op: 'sync', id: 'a9', session: 's', sync: { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 }, timeoutMs: 1000, pushes: 0 }]).length, 1, 'other entries are sent as they are');
});

void t.test('verdicts whose disconnect a reconnect replaced before the report went out are forgotten: the map stays bounded', async (t) => {
  const maxReportEntries = 4;
  const log = new SimLog();
  const clock = { now: 1000 };
  const c1 = new SimController('c1', log, clock, { maxReportEntries });
  c1.tick();
  log.propose(applyCmd(svc('web')));
  const a = new SimAgent('a1');
  let asked = 0;
  c1.elsewhere = () => {
    asked++;
    return [];
  };
  const rounds = 12;
  let peak = 0;
  for (let i = 0; i < rounds; i++) {
    a.connect(c1);
    settle([c1]);
    const timeout = c1.record('a1')!.timeoutMs;
    // Its disconnect is judged but waits unsent; the agent is back (a new stream) before it goes.
    c1.reportsHeld = true;
    a.disconnect();
    const before = asked;
    const deadline = clock.now + 10 * (timeout + c1.hub.graceMs(timeout));
    while (asked === before && clock.now < deadline) advance(clock, [c1], 50);
    a.connect(c1);
    c1.reportsHeld = false;
    settle([c1]);
    t.match(c1.record('a1'), { online: true, session: a.session }, `round ${i}: the reconnect's claim committed, no disconnect`);
    peak = Math.max(peak, c1.hub.judgedOfflineCount);
  }
  t.equal(asked, rounds, 'every round judged a disconnect that its reconnect then replaced');
  t.ok(peak <= maxReportEntries + 1, `at most ${maxReportEntries + 1} verdicts held at once (peak ${peak}, after ${rounds} rounds)`);
});

void t.test("a disconnect asked about again takes none of its stream's pushes along: the record counts every push (agents simulation, seed 84 --lossy --skew 1000)", async (t) => {
  const { clock, c1, c2, a, timeout } = servedByC1();
  const before = c1.record('a1')!.pushes;
  const received = a.received.length;
  // c1's reports wait (a leader it cannot reach); a1 acknowledges a change meanwhile, then leaves.
  c1.reportsHeld = true;
  c1.log.propose(applyCmd(svc('api')));
  advance(clock, [c1, c2], 100);
  t.equal(a.received.length, received + 1, 'a1 was pushed the change');
  a.disconnect();
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 300);
  // The report goes; it fails and is about to go again, its disconnect asked about again first.
  const first = c1.hub.takeReport(clock.now) ?? [];
  const again = c1.hub.recheckOffline(first);
  t.same(again, first, 'the stream\'s last sync went alone, and goes again as it was');
  t.match(again, [{ op: 'sync', id: 'a1', pushes: 1, sync: { ackedVersion: a.config.version } }], 'with its push and ACK');
  c1.log.propose({ kind: 'agents', op: 'report', controller: 'c1', entries: again } as never);
  c1.hub.reportCommitted(again);
  c1.reportsHeld = false;
  advance(clock, [c1, c2], 2 * (timeout + c1.hub.graceMs(timeout)));
  t.match(c1.record('a1'), { online: false, pushes: before + 1, ackedVersion: a.config.version }, 'offline, every push counted, its last ACK recorded');
});

void t.test('a departure replaced in the batch by a reconnect whose stream closes before its report still reaches the log: the agent is not shown online on a stream gone for good', async (t) => {
  const { clock, c1, c2, a, timeout } = servedByC1();
  const left = a.session;
  // c1's reports wait; a1 leaves, is judged offline (its disconnect waits in the batch), then
  // comes back to c1 on a new stream that closes before the report goes.
  c1.reportsHeld = true;
  a.disconnect();
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 300);
  a.connect(c1);
  settle([c1, c2]);
  t.not(a.session, left, 'back on another stream');
  a.disconnect();
  settle([c1, c2]);
  c1.reportsHeld = false;
  // The hub leaves out the claim of the stream gone from it (the agent has a record); the
  // departure it had replaced goes: offline at once, not after the next reconcile round.
  advance(clock, [c1, c2], 100);
  t.match(c1.record('a1'), { online: false, session: left }, 'offline on the stream it left');
  t.same(statusAudits(c1), ['null->online', 'online->offline'], 'one departure, no flap');
});

/** c1 and c2, both idle, and a new agent a2 (no record) on c1 while c1's reports wait unsent; a2 then leaves. */
function newAgentLeftHeldUp(): { clock: { now: number }; c1: SimController; c2: SimController; a: SimAgent; left: string } {
  const { clock, c1, c2 } = twoControllers();
  settle([c1, c2]);
  c1.reportsHeld = true;
  const a = new SimAgent('a2');
  a.connect(c1);
  settle([c1, c2]);
  const left = a.session!;
  a.disconnect();
  return { clock, c1, c2, a, left };
}

const statusOf = (c: SimController, id: string): string[] => c.audits.filter((e) => e.type === 'agent.status' && e.subject === id).map((e) => `${e.from}->${e.to}`);

void t.test('a new agent whose claim commits after its departure came due (its stream closed) goes offline as soon as the claim commits, not a reconcile round later', async (t) => {
  const { clock, c1, c2, left } = newAgentLeftHeldUp();
  // Well past its grace (timeout 1 s and a half): the departure came due with no record to end.
  advance(clock, [c1, c2], 4000);
  t.equal(c1.record('a2'), null, 'no record while the claim waits');
  c1.reportsHeld = false;
  advance(clock, [c1, c2], 50);
  t.match(c1.record('a2'), { online: true, session: left }, 'the claim of the closed stream made the record (it says what the agent ran)');
  advance(clock, [c1, c2], 250);
  // Before, the record stayed online on the stream gone until c1's next reconcile round and another
  // grace: 3.5 s here (2 s rounds, 1 s timeout), up to state_sync_interval plus 1.5 timeouts in production.
  t.match(c1.record('a2'), { online: false, session: left }, 'offline within 300 ms of the claim');
  t.same(statusOf(c1, 'a2'), ['null->online', 'online->offline']);
});

void t.test('a new agent that moved to a controller whose claim is held up is not shown offline when its old claim commits late', async (t) => {
  const { clock, c1, c2, a, left } = newAgentLeftHeldUp();
  c1.elsewhere = () => c2.hub.live(clock.now);
  c2.reportsHeld = true;
  a.connect(c2);
  settle([c1, c2]);
  advance(clock, [c1, c2], 4000);
  c1.reportsHeld = false;
  advance(clock, [c1, c2], 1000);
  t.match(c1.record('a2'), { online: true, session: left }, "c1's late claim committed; c2's still waits, a2 live there");
  c2.reportsHeld = false;
  advance(clock, [c1, c2], 300);
  t.match(c1.record('a2'), { online: true, controller: 'c2', session: a.session }, 'on c2 once its claim commits');
  advance(clock, [c1, c2], 5000);
  t.match(c1.record('a2'), { online: true, controller: 'c2' });
  t.same(statusOf(c1, 'a2'), ['null->online'], 'never shown offline');
});

void t.test("a claim already sent when its stream closed, committed after the stream's departure came due, is followed by that departure at once (an agent recorded offline before)", async (t) => {
  const { clock, c1, c2, a, timeout } = servedByC1();
  a.disconnect();
  advance(clock, [c1, c2], 3 * (timeout + c1.hub.graceMs(timeout)));
  t.match(c1.record('a1'), { online: false }, 'a1 offline');
  // a1 comes back on c2, whose report (holding the claim) goes unanswered; c2 sheds it.
  c2.unheardByLeader = true;
  a.connect(c2);
  settle([c1, c2]);
  const shed = a.session;
  const since = clock.now;
  while (a.closedWith === null && clock.now - since < 10_000) advance(clock, [c1, c2], 50);
  t.match(a.closedWith, { code: 'unavailable', reason: /not heard by the leader/ }, 'c2 shed a1');
  a.controller = null;
  advance(clock, [c1, c2], 3000);
  c2.unheardByLeader = false;
  advance(clock, [c1, c2], 500);
  // Before, the late claim left a1 online on c2's stream gone until c2's next reconcile round and another grace.
  t.match(c2.record('a1'), { online: false, controller: 'c2', session: shed, statusReason: /not heard by the leader/ }, 'offline right after the late claim');
  t.same(statusAudits(c2), ['null->online', 'online->offline', 'offline->online', 'online->offline']);
});

/**
 * a1 recorded offline; c1's reports then go unanswered while a1 comes back to c1 (`older`, its
 * claim sent), leaves, returns after the reconnect wait (`newer`) and leaves again: `newer`'s
 * claim is left out once `older`'s commits (a1 has a record), so only `newer`'s departure is left.
 */
function backTwiceUnheard(): { clock: { now: number }; c1: SimController; c2: SimController; older: string; newer: string; leftAt: number; timeout: number } {
  const { clock, c1, c2, a, timeout } = servedByC1();
  a.disconnect();
  advance(clock, [c1, c2], 3 * (timeout + c1.hub.graceMs(timeout)));
  c1.unheardByLeader = true;
  a.connect(c1);
  settle([c1, c2]);
  const older = a.session!;
  a.disconnect();
  advance(clock, [c1, c2], 1050);
  a.connect(c1);
  settle([c1, c2]);
  const newer = a.session!;
  a.disconnect();
  return { clock, c1, c2, older, newer, leftAt: clock.now, timeout };
}

void t.test("a late claim of an older stream, committed within the grace of a newer stream's departure from the same controller, is ended by that departure, not a reconcile round later", async (t) => {
  const { clock, c1, c2, older, newer, leftAt, timeout } = backTwiceUnheard();
  t.not(newer, older);
  c1.unheardByLeader = false;
  advance(clock, [c1, c2], 100);
  t.match(c1.record('a1'), { online: true, session: older }, "the older stream's claim committed; the newer one's was left out");
  // Before, the older claim ended the newer stream's departure as a claim elsewhere does: online
  // until c1's next reconcile round and another grace ("not connected to c1").
  advance(clock, [c1, c2], leftAt + timeout + c1.hub.graceMs(timeout) + 300 - clock.now);
  t.match(c1.record('a1'), { online: false, session: older, statusReason: 'stream closed' }, 'offline when the newer departure came due');
  t.same(statusAudits(c1), ['null->online', 'online->offline', 'offline->online', 'online->offline']);
});

void t.test("a late claim of an older stream, committed after a newer stream's departure from the same controller came due, is followed by that departure at once", async (t) => {
  const { clock, c1, c2, older, timeout } = backTwiceUnheard();
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 100);
  t.match(c1.record('a1'), { online: false }, 'still offline: the claims wait');
  c1.unheardByLeader = false;
  advance(clock, [c1, c2], 50);
  t.match(c1.record('a1'), { online: true, session: older }, "the older stream's claim committed");
  // Before, the departure waited only for a claim of its own stream, which never came.
  advance(clock, [c1, c2], 300);
  t.match(c1.record('a1'), { online: false, session: older, statusReason: 'stream closed' }, 'offline within 300 ms of the claim');
  t.same(statusAudits(c1), ['null->online', 'online->offline', 'offline->online', 'online->offline']);
});

void t.test('a departure that comes due while the record names an older stream of the same controller, gone too, takes the agent offline on that stream', async (t) => {
  const { clock, c1, c2, a, timeout } = servedByC1();
  const older = a.session;
  // c1's reports wait; a1 leaves and comes back within its grace (the older departure ends), then
  // leaves again: the newer stream's claim, still in the batch, is left out (a1 has a record).
  c1.reportsHeld = true;
  a.disconnect();
  advance(clock, [c1, c2], 1100);
  a.connect(c1);
  settle([c1, c2]);
  t.not(a.session, older, 'back on another stream');
  a.disconnect();
  advance(clock, [c1, c2], timeout + c1.hub.graceMs(timeout) + 100);
  c1.reportsHeld = false;
  // Before, the record stayed online on the older stream until c1's next reconcile round and another grace.
  advance(clock, [c1, c2], 100);
  t.match(c1.record('a1'), { online: false, session: older, statusReason: 'stream closed' }, 'offline on the older stream at once');
  t.same(statusAudits(c1), ['null->online', 'online->offline']);
});

void t.test('an agent back on its controller and waiting there for admission is not reported offline meanwhile', async (t) => {
  const log = new SimLog();
  const clock = { now: 1000 };
  // One admission a tick: a herd ahead of a1 holds it in line past its departure's grace.
  const c1 = new SimController('c1', log, clock, { admitPerTick: 1 });
  c1.tick();
  log.propose(applyCmd(svc('web')));
  const a = new SimAgent('a1');
  a.connect(c1);
  advance(clock, [c1], 200);
  t.match(c1.record('a1'), { online: true, controller: 'c1' });
  const timeout = c1.record('a1')!.timeoutMs;
  const graceMs = c1.hub.graceMs(timeout);
  const herd = Math.ceil((2 * (timeout + graceMs)) / 50);
  for (let i = 0; i < herd; i++) new SimAgent(`h${i}`).connect(c1);
  a.disconnect();
  a.connect(c1);
  t.ok(c1.hub.queuedCount > herd / 2, `a1 waits in line behind ${c1.hub.queuedCount - 1} hellos`);
  const back = clock.now;
  while (c1.hub.queuedCount > 0 && clock.now - back < 60_000) advance(clock, [c1], 50);
  t.ok(clock.now - back > timeout + graceMs, `admitted after ${clock.now - back} ms, past its departure's ${timeout + graceMs} ms`);
  advance(clock, [c1], 500);
  t.match(c1.record('a1'), { online: true, controller: 'c1', session: a.session }, 'online on its new stream');
  t.same(statusAudits(c1), ['null->online'], 'no offline flap while it waited to be admitted');
  // A1 leaves for good from the line: offline once its grace runs out.
  for (let i = 0; i < herd; i++) new SimAgent(`g${i}`).connect(c1);
  a.disconnect();
  a.connect(c1);
  a.disconnect();
  const left = clock.now;
  while (c1.record('a1')!.online && clock.now - left < 60_000) advance(clock, [c1], 50);
  t.ok(clock.now - left <= timeout + 2 * graceMs + 200, `offline ${clock.now - left} ms after it left the line for good`);
});
