import t from 'tap';
import { MembershipEngine, type MembershipContext } from '../../src/membership/membership-engine.js';
import { MembershipError, ViewDecodeError } from '../../src/membership/errors.js';
import { decodeHeartbeat, encodeHeartbeat, type MemberView } from '../../src/membership/view-codec.js';

const ids = ['c1', 'c2', 'c3'];
const detector = { baseTimeoutMs: 2000, dynamicAdjustment: true, rttWindow: 16, minTimeoutMs: 2000, maxTimeoutMs: 8000 };

function engines(now: number): Map<string, MembershipEngine> {
  return new Map(ids.map((id, i) => [id, new MembershipEngine({ self: id, incarnation: i + 1, detector, pingIntervalMs: 250 }, ids, now)]));
}

function ctx(now: number, over: Partial<MembershipContext> = {}): MembershipContext {
  return {
    now,
    wallClockMs: 1_800_000_000_000 + now,
    members: ids.map((id) => ({ id, voter: true, committed: 'online' as const })),
    lastLeaderContactAt: now,
    electionTimeoutMs: 1000,
    leaderTerm: null,
    leader: null,
    appliedIndex: 7,
    ...over,
  };
}

/** One ping round among the running nodes: every ping answered, 1 ms each way. */
function round(all: Map<string, MembershipEngine>, running: readonly string[], now: number): void {
  for (const a of running) {
    for (const b of running) {
      if (a === b) continue;
      all.get(b)!.receiveView(a, all.get(a)!.viewPayload(ctx(now)), now + 1);
      all.get(a)!.receiveView(b, all.get(b)!.viewPayload(ctx(now + 1)), now + 2);
      all.get(a)!.recordRtt(b, 2, now + 2);
    }
  }
}

void t.test('a dead member is decided offline by the leader once a quorum sees it gone, and rows say so', async (t) => {
  const all = engines(0);
  let now = 0;
  for (; now < 3000; now += 250) {
    round(all, ids, now);
    for (const e of all.values()) t.same(e.observe(now), [], 'no transition while all are healthy');
  }
  const leader = all.get('c1')!;
  t.same(leader.lead(ctx(now, { leaderTerm: 2 })), [], 'nothing to decide while everyone is online');

  // c3 dies: c1 and c2 keep exchanging views.
  let decided: readonly { id: string; status: string }[] = [];
  for (; now < 9000 && decided.length === 0; now += 50) {
    if (now % 250 === 0) round(all, ['c1', 'c2'], now);
    all.get('c2')!.observe(now);
    leader.observe(now);
    decided = leader.lead(ctx(now, { leaderTerm: 2 }));
  }
  t.same(
    decided.map((d) => [d.id, d.status]),
    [['c3', 'offline']],
  );
  t.ok(now > 2752 + 2004, `not before c3's timeout (2004 ms) counted from its last message at 2752 ms (decided at ${now} ms)`);
  t.ok(now < 3000 + 2000 + 500, 'and within one observe tick plus a ping interval of it');
  t.same(leader.lead(ctx(now, { leaderTerm: 2 })), [], 'the same decision is not proposed again while it commits');
  t.equal(leader.lead(ctx(now, { leaderTerm: 3 })).length, 1, 'a new term re-evaluates at once');

  const rows = all.get('c2')!.rows(ctx(now));
  t.same(
    rows.map((r) => [r.id, r.online, r.localState, r.basis]),
    [
      ['c1', true, 'online', 'quorum-view'],
      ['c2', true, 'online', 'quorum-view'],
      ['c3', false, 'offline', 'quorum-view'],
    ],
    'the reconciled rows are right before the decision commits',
  );
  t.ok(rows[0]!.peer !== null && rows[0]!.peer.rttP50Ms !== null, 'with RTT percentiles for peers');
  t.equal(rows[0]!.appliedIndex, 7, "and each peer's applied index as its views report it");
});

void t.test('sync on a follower: divergence is audited, a quorum-backed correction goes to the leader, repair closes', async (t) => {
  const all = engines(0);
  let now = 0;
  for (; now < 3000; now += 250) round(all, ids, now);
  // c3 dies, but the committed state still says online (say the leader's proposal was lost).
  for (; now < 6000; now += 50) {
    if (now % 250 === 0) round(all, ['c1', 'c2'], now);
    for (const e of all.values()) e.observe(now);
  }
  const c2 = all.get('c2')!;
  const out = c2.sync(ctx(now));
  t.same(
    out.events.map((e) => [e.type, e.subject, e.from, e.to]),
    [['state.divergence', 'c3', 'online', 'offline']],
  );
  t.same(
    out.corrections.map((d) => [d.id, d.status]),
    [['c3', 'offline']],
    'c1 and c2 both report no activity from c3: a quorum of voters',
  );
  t.ok(all.get('c1')!.acceptCorrection(out.corrections[0]!, ctx(now, { leaderTerm: 2 })), 'the leader agrees');
  t.notOk(all.get('c1')!.acceptCorrection(out.corrections[0]!, ctx(now)), 'a follower never proposes');
  const committed = ctx(now, { members: ids.map((id) => ({ id, voter: true, committed: id === 'c3' ? ('offline' as const) : ('online' as const) })) });
  t.same(
    c2.sync(committed).events.map((e) => [e.type, e.subject]),
    [['state.repaired', 'c3']],
  );
});

void t.test('a repair never overturns a committed status with views that arrived before it', async (t) => {
  const all = engines(0);
  const c2 = all.get('c2')!;
  const committedC3 = (status: 'online' | 'offline'): MembershipContext['members'] => ids.map((id) => ({ id, voter: true, committed: id === 'c3' ? status : ('online' as const) }));
  let now = 0;
  for (; now < 3000; now += 250) {
    round(all, ids, now);
    c2.noteCommitted(ctx(now));
  }
  // c3 pauses; the leader commits it offline; c1 and c2 keep exchanging views.
  for (; now < 6000; now += 50) {
    if (now % 250 === 0) round(all, ['c1', 'c2'], now);
    for (const e of all.values()) e.observe(now);
    if (now >= 5500) c2.noteCommitted(ctx(now, { members: committedC3('offline') }));
  }
  // c3 resumes at 6000 and c1 hears it; c2 does not (a bad link), and hears nothing more from c1
  // before the leader's "online" reaches it at 6100.
  round(all, ['c1', 'c3'], now);
  c2.noteCommitted(ctx(6100, { members: committedC3('online') }));
  c2.observe(6200);
  const out = c2.sync(ctx(6200, { members: committedC3('online') }));
  t.same(out.events.map((e) => [e.type, e.subject, e.from, e.to]), [['state.divergence', 'c3', 'online', 'offline']], 'c2 still sees c3 offline: a divergence');
  t.same(out.corrections, [], "c1's view from 5750 says c3 is silent, but it predates the commit of 'online': no correction");
  t.same(out.unresolved.map((r) => r.member), ['c3'], 'the repair waits for newer views');
  // c1's next view, sent after it heard c3, reaches c2: one voter each way, no majority against the commit.
  round(all, ['c1', 'c2'], 6250);
  c2.observe(6300);
  t.same(c2.sync(ctx(6300, { members: committedC3('online') })).corrections, [], "with c1's newer view, nothing to correct");
});

void t.test('a node cut off from the quorum is stale and says why; bad views are refused and change nothing', async (t) => {
  const all = engines(0);
  round(all, ids, 0);
  const c1 = all.get('c1')!;
  // Heard from c2 and c3 at t=2, nothing since: at t=5000 no quorum within the election timeout.
  const cut = ctx(5000, { lastLeaderContactAt: 1000 });
  t.ok(c1.stale(cut));
  t.match(c1.staleReason(cut), /c1 has heard from 1 of 3 voters within the election timeout \(1000ms\), a quorum is 2; last leader contact 4000ms ago/);
  t.same(c1.sync(cut).events, [], 'a stale node does not judge anyone');
  t.ok(c1.stale(ctx(5000, { lastLeaderContactAt: 5000 })), 'leader contact alone does not make it current: the contract counts voters heard');

  const contacts = () => c1.rows(ctx(10)).map((r) => r.peer?.lastContactMs ?? null);
  const before = contacts();
  t.throws(() => c1.receiveView('c9', all.get('c2')!.viewPayload(ctx(0)), 10), MembershipError, 'an unknown sender is refused');
  t.throws(() => c1.receiveView('c2', new Uint8Array([1, 2, 3]), 10), ViewDecodeError, 'a malformed view is refused');
  t.throws(() => c1.receiveView('c3', all.get('c2')!.viewPayload(ctx(0)), 10), MembershipError, 'a view claiming another reporter is refused');
  t.same(contacts(), before, 'no contact was recorded by the refused views');
  t.ok((before[1] ?? 0) > 0, 'the check can see a change: c2 was last heard before t=10');
  all.get('c1')!.receiveView('c2', all.get('c2')!.viewPayload(ctx(4900)), 4900);
  t.notOk(c1.stale(ctx(5000)), 'hearing c2 makes a quorum of two with itself');
  t.equal(c1.staleReason(ctx(5000)), '');
});

void t.test('a node that knows no voter (started with --join, not reached by a leader) says what it waits for', async (t) => {
  // attack-operator round 15: it said it "has heard from 0 of 0 voters ..., a quorum is 1".
  const joiner = new MembershipEngine({ self: 'c4', incarnation: 9, detector, pingIntervalMs: 250 }, [], 0);
  const waiting = ctx(5000, { members: [], lastLeaderContactAt: null });
  t.ok(joiner.stale(waiting));
  t.equal(
    joiner.staleReason(waiting),
    "c4 knows no cluster configuration yet: it started empty (--join) and no leader has replicated the cluster's log to it; " +
      'it waits until it is added (ctl member add c4 ADDRESS, on the running cluster) and that cluster\'s leader reaches it (no leader contact yet)',
  );
});

void t.test('a local transition is pushed at once; staggered transitions cost at most one extra round per ping interval after a burst of two', async (t) => {
  const eleven = Array.from({ length: 11 }, (_, i) => `c${i + 1}`);
  const e = new MembershipEngine({ self: 'c1', incarnation: 1, detector, pingIntervalMs: 250 }, eleven, 0);
  t.notOk(e.takePushRound(0), 'nothing to push');
  // Each peer goes silent 50 ms after the previous one, so every 50 ms tick finds a new timeout.
  const payloadOf = (id: string) => new MembershipEngine({ self: id, incarnation: 9, detector, pingIntervalMs: 250 }, eleven, 0).viewPayload(ctx(0));
  for (const [i, id] of eleven.slice(1).entries()) e.receiveView(id, payloadOf(id), 1000 + 50 * i);
  let pushes = 0;
  let transitions = 0;
  let firstPushAt: number | null = null;
  for (let now = 3000; now <= 3600; now += 50) {
    transitions += e.observe(now).length;
    if (e.takePushRound(now)) {
      pushes++;
      firstPushAt ??= now;
    }
  }
  t.equal(transitions, 10, 'ten peers timed out, one per tick');
  t.equal(firstPushAt, 3050, 'the first is pushed at the tick that found it');
  t.ok(pushes >= 3 && pushes <= 2 + Math.ceil(600 / 250), `${pushes} push rounds for 10 transitions in 600 ms: the burst, then one per interval`);

  const f = new MembershipEngine({ self: 'c1', incarnation: 1, detector, pingIntervalMs: 250 }, ids, 0);
  t.equal(f.observe(2001).length, 2, 'both peers time out');
  f.roundPayload(ctx(2001));
  t.notOk(f.takePushRound(2001), 'a regular round already carried the news');
});

void t.test('a node that reads what waited during its stall before its observe tick runs is stale until a quorum answers pings sent since', async (t) => {
  const all = engines(0);
  const [c1, c2, c3] = ids.map((id) => all.get(id)!);
  for (let now = 0; now <= 2000; now += 250) {
    round(all, ids, now);
    c1!.observe(now + 2);
  }
  t.notOk(c1!.stale(ctx(2002)), 'healthy: current');
  // c1 is stopped for 3 s. On resuming it reads, before its observe tick runs again, a ping from
  // c2 and a Raft message from c3 that waited in its sockets, and a status request.
  const resumed = 5002;
  c1!.receiveView('c2', c2!.viewPayload(ctx(3000)), resumed);
  c1!.noteContact('c3', resumed);
  t.ok(c1!.stale(ctx(resumed)), 'what waited says nothing about now: stale');
  t.match(c1!.staleReason(ctx(resumed)), /^c1 resumed 0ms ago from a stall of 3000ms and has heard back from 1 of 3 voters since, a quorum is 2$/, 'and says why');
  c1!.observe(resumed + 1);
  t.ok(c1!.stale(ctx(resumed + 1)), 'its observe tick finds the same stall');
  // A ping sent after the resume, answered by c3: with itself, a quorum.
  c3!.receiveView('c1', c1!.viewPayload(ctx(resumed + 2)), resumed + 3);
  c1!.receiveView('c3', c3!.viewPayload(ctx(resumed + 3)), resumed + 4);
  c1!.recordRtt('c3', 2, resumed + 4);
  t.notOk(c1!.stale(ctx(resumed + 4)), 'current again once a quorum answered pings sent since');
});

void t.test("a member that relays made-up views of members we hear ourselves changes nothing; once we stop hearing one, its relayed view counts", async (t) => {
  const all = engines(0);
  let now = 0;
  for (; now < 3000; now += 250) round(all, ids, now);
  const c1 = all.get('c1')!;
  /** c2's own view, honest or not, with a made-up view of c3 that says c1 has been silent for a minute. */
  const forged = (at: number): Uint8Array => {
    const own = decodeHeartbeat(all.get('c2')!.viewPayload(ctx(at))).view;
    const silent = (reporter: string, incarnation: number, seq: number): MemberView => ({
      ...own,
      reporter,
      incarnation,
      seq,
      entries: own.entries.map((e) => (e.id === 'c1' ? { ...e, status: 'offline' as const, lastContactAgoMs: 60_000 } : e)),
    });
    return encodeHeartbeat({ view: silent('c2', own.incarnation, own.seq), relayed: [{ ageMs: 0, view: silent('c3', 99, 0x7fffffff) }] });
  };
  // Every 20 ms for 6 s, between honest rounds: the leader must stay online in its own rows.
  let offlineRows = 0;
  for (let end = now + 6000; now < end; now += 20) {
    if (now % 250 === 0) round(all, ['c1', 'c3'], now);
    c1.receiveView('c2', forged(now), now);
    c1.observe(now);
    if (c1.rows(ctx(now, { leaderTerm: 2 })).find((r) => r.id === 'c1')?.online !== true) offlineRows++;
    t.same(c1.lead(ctx(now, { leaderTerm: 2 })), [], `no decision at ${now} ms`, { diagnostic: false });
  }
  t.equal(offlineRows, 0, 'c1 was never shown offline: c3 speaks for itself');

  // c3 goes quiet for c1 (a partial partition): c2's relay of c3's view is what c1 has, and counts.
  const c3Payload = all.get('c3')!.viewPayload(ctx(now));
  const relayOfC3 = decodeHeartbeat(c3Payload).view;
  const honest = decodeHeartbeat(all.get('c2')!.viewPayload(ctx(now))).view;
  const later = now + 2 * 250 + 1;
  c1.receiveView('c2', encodeHeartbeat({ view: honest, relayed: [{ ageMs: 0, view: { ...relayOfC3, seq: relayOfC3.seq + 1, appliedIndex: 42 } }] }), later);
  t.equal(c1.rows(ctx(later)).find((r) => r.id === 'c3')?.appliedIndex, 42, "the relayed view is taken once c3's own is two ping intervals old");
});

void t.test('the answer is stale for a follower that hears a quorum but no leader beyond an ordinary election (attack-34 H5); its connection is not', async (t) => {
  const all = engines(0);
  let now = 0;
  for (; now < 3000; now += 250) round(all, ids, now);
  t.same(all.get('c1')!.view(ctx(now, { leaderTerm: 2, lastLeaderContactAt: now - 200 })).stale, false, 'a leader is judged by its quorum acknowledgements only');
  const c2 = all.get('c2')!;
  // c2 last heard the leader c1 at 2000 ms, and hears c3 every round since.
  const lost = { lastLeaderContactAt: 2000 };
  t.same(c2.view(ctx(now, lost)).stale, false, 'within the first election timeouts: an ordinary election');
  for (; now < 5000; now += 250) round(all, ['c2', 'c3'], now);
  t.same(c2.view(ctx(5000, lost)).stale, false, 'at 3 election timeouts: still an ordinary election');
  for (; now < 5500; now += 250) round(all, ['c2', 'c3'], now);
  const view = c2.view(ctx(5500, lost));
  t.ok(view.stale, 'beyond 3 election timeouts without a leader: stale');
  t.match(view.staleReason, /^c2 has had no leader for 3500ms \(election timeout 1000ms\) although it hears a quorum/);
  t.notOk(c2.stale(ctx(5500, lost)), 'still connected: the contract counts voters heard');
  t.ok(view.rows.find((r) => r.id === 'c2')?.online, 'its own row stays online');
  t.same(c2.view(ctx(5500, { lastLeaderContactAt: 5400 })).stale, false, 'hearing the leader: current');
  t.same(c2.view(ctx(5500, { lastLeaderContactAt: null })).stale, true, 'no leader heard since it started, 5.5 s ago: stale');
});

/**
 * A node that knows no voter says it is connected through its leader: the leader's messages
 * within an election timeout, and the leader's own fresh view saying it is connected (a leader
 * cut off from its quorum still replicates to it until a new one is elected) and hearing it (the
 * leader's messages reaching it say nothing of its own reaching anyone). A view from any other
 * peer, or one the leader sent while it was itself cut off, vouches for nothing.
 */
void t.test('a node that knows no voter is connected only while its leader reaches it, hears it, and says it is connected', async (t) => {
  const joiner = new MembershipEngine({ self: 'c4', incarnation: 9, detector, pingIntervalMs: 250 }, [], 0);
  const connectedAt = (c: MembershipContext): boolean => decodeHeartbeat(joiner.viewPayload(c)).view.connected;
  const view = (reporter: string, connected: boolean, hearsC4 = true): MemberView => ({
    reporter,
    incarnation: 1,
    seq: 1,
    connected,
    appliedIndex: 9,
    version: null,
    entries: [{ id: 'c4', status: hearsC4 ? 'online' : 'offline', lastContactAgoMs: hearsC4 ? 100 : 5000, timeoutMs: 2000 }],
  });
  const at = (now: number): MembershipContext => ctx(now, { members: [], lastLeaderContactAt: now - 10, leader: 'c1' });
  t.notOk(connectedAt(at(1000)), 'its leader reaches it, but has said nothing of itself yet');
  joiner.noteOutsiderView('c2', view('c2', true), at(1000));
  t.notOk(connectedAt(at(1000)), 'a follower saying it is connected vouches for nothing');
  joiner.noteOutsiderView('c1', view('c1', true), at(1000));
  t.ok(connectedAt(at(1000)), 'the leader says it is connected: so is this node');
  t.notOk(connectedAt(ctx(1000, { members: [], lastLeaderContactAt: -100, leader: 'c1' })), 'not past an election timeout without the leader\'s messages');
  t.notOk(connectedAt(ctx(1000, { members: [], lastLeaderContactAt: 990, leader: 'c2' })), 'nor once another leads, before its word comes');
  t.notOk(connectedAt(at(1000 + joiner.viewTtlMs + 1)), 'nor once the leader\'s view is no longer fresh');
  joiner.noteOutsiderView('c1', view('c1', true, false), at(1500));
  t.notOk(connectedAt(at(1500)), 'the leader connected, but it does not hear this node: its messages reach no one');
  joiner.noteOutsiderView('c1', view('c1', false), at(2000));
  t.notOk(connectedAt(at(2000)), 'the leader cut off from its quorum: neither is this node');
  t.ok(joiner.stale(at(2000)), 'its own answers say stale throughout');
});

void t.test("a peer whose answers come later than their deadline, while its views say it hears us, has no say: its late word does not keep a dead member online", async (t) => {
  // c2's views reach c1 1.5 s late (a slow link c2 -> c1); c1's pings to c2 go unanswered in time.
  // c3 stops at 3000. c1's own detector times it out about 2.5 s later; c2's views, 1.5 s old on
  // arrival, still say c2 heard c3 lately, which read forward by at most the horizon makes c3
  // heard by a quorum counting itself.
  const online = (unanswered: boolean): boolean => {
    const all = engines(0);
    const [c1, c2, c3] = [all.get('c1')!, all.get('c2')!, all.get('c3')!];
    let now = 0;
    for (; now < 1000; now += 250) round(all, ids, now);
    const late: { at: number; payload: Uint8Array }[] = [];
    for (; now <= 5900; now += 50) {
      if (now % 250 === 0) {
        if (now < 3000) round(all, ['c1', 'c3'], now);
        if (now < 3000) round(all, ['c2', 'c3'], now);
        c2.receiveView('c1', c1.viewPayload(ctx(now)), now + 1);
        late.push({ at: now + 1500, payload: c2.viewPayload(ctx(now)) });
        if (unanswered) c1.notePingUnanswered('c2', now - 2000, now); // failed at its deadline, the base timeout
      }
      while (late[0] !== undefined && late[0].at <= now) c1.receiveView('c2', late.shift()!.payload, now);
      for (const e of [c1, c2, c3]) e.observe(now);
    }
    return c1.rows(ctx(now)).find((r) => r.id === 'c3')!.online;
  };
  t.equal(online(false), true, 'counted, c2 keeps c3 online at c1 2.9 s after it stopped');
  t.equal(online(true), false, 'c2 unanswered while its views say it hears c1: no say, c3 offline');
});

void t.test('a peer our pings do not reach (a one-way cut) is not a slow link: its timely word counts', async (t) => {
  // A ring: c1's messages do not reach c2, c3's do not reach c1; c2 hears c3, so c3 is online
  // (heard by c2 and itself). c1's pings to c2 go unanswered, and c2's views, timely, show c1
  // silent since the cut.
  const all = engines(0);
  const [c1, c2, c3] = [all.get('c1')!, all.get('c2')!, all.get('c3')!];
  let now = 0;
  for (; now < 1000; now += 250) round(all, ids, now);
  const shown: boolean[] = [];
  for (; now <= 6000; now += 50) {
    if (now % 250 === 0) {
      c1.receiveView('c2', c2.viewPayload(ctx(now)), now + 1);
      c2.receiveView('c3', c3.viewPayload(ctx(now)), now + 1);
      c3.receiveView('c1', c1.viewPayload(ctx(now)), now + 1);
      c1.notePingUnanswered('c2', now - 2000, now); // failed at its deadline, the base timeout
    }
    for (const e of [c1, c2, c3]) e.observe(now);
    if (now >= 4000) shown.push(c1.rows(ctx(now)).find((r) => r.id === 'c3')!.online);
  }
  t.ok(shown.length > 0 && shown.every((o) => o), "c1 shows c3 online throughout, by c2's word and c3's own");
});

void t.test('pings lost while this node was cut off a moment (a flapping node) do not make a peer whose view then arrives a slow link: a live member it hears is not proposed offline', async (t) => {
  // c1 is cut off from 1000 to 3490 (its pings are lost, and fail at their 2000 ms deadline from
  // 3000 on), back for a moment at 3490: its view reaches c3, and c3's, saying it heard c1 just
  // now, reaches c1. c2's own view at c1 expired meanwhile, and c1's detector timed c2 out; c3
  // hears c2 (and c2 itself), so c2 is online. Found by `npm run sim:status -- --odd --nodes 3
  // --base 2000 --start 110 --seeds 1` (c1 flapping proposed c2 offline, heard by 0 of 3).
  const all = engines(0);
  const [c1, c2, c3] = [all.get('c1')!, all.get('c2')!, all.get('c3')!];
  let now = 0;
  for (; now < 1000; now += 250) round(all, ids, now);
  for (; now < 3490; now += 10) {
    if (now % 250 === 0) round(all, ['c2', 'c3'], now);
    // c1's pings sent 2000 ms ago fail now: 1000, 1250, ... (notePingUnanswered at their deadline)
    if (now >= 3000 && now % 250 === 0) for (const peer of ['c2', 'c3']) c1.notePingUnanswered(peer, now - 2000, now);
    for (const e of [c1, c2, c3]) e.observe(now);
  }
  c3.receiveView('c1', c1.viewPayload(ctx(now)), now + 1);
  c1.receiveView('c3', c3.viewPayload(ctx(now + 1)), now + 2);
  now += 10;
  for (const e of [c1, c2, c3]) e.observe(now);
  const proposed = c1.lead(ctx(now, { leaderTerm: 2 }));
  t.same(proposed.filter((d) => d.id === 'c2'), [], 'c1 proposes nothing for c2: c3 hears it');
  t.equal(c1.rows(ctx(now)).find((r) => r.id === 'c2')!.online, true, "c1 shows c2 online, by c3's word and c2's own");
});
