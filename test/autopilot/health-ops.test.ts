/**
 * `ctl health` on the server, against a fake consensus port: the leader answers its own
 * report; a follower relays the leader's (one hop); without a reachable leader the answer is
 * an unhealthy verdict with the reason, not an error; a relayed request never hops again.
 */
import t from 'tap';
import { assessHealth, INITIAL_HEALTH_STATE, type ClusterHealthReport } from '../../src/autopilot/health.js';
import { healthOps, type HealthSource } from '../../src/api/health-ops.js';
import { reportToWire, decodeHealth } from '../../src/api/health-wire.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { FakeConsensus } from '../api/fake-consensus.js';

const REPORT: ClusterHealthReport = assessHealth(INITIAL_HEALTH_STATE, {
  now: 1000,
  wallClockMs: 1_700_000_000_000,
  leader: { id: 'c1', term: 3, lastIndex: 10, commit: 10 },
  members: ['c1', 'c2', 'c3'].map((id) => ({ id, voter: true, online: id !== 'c3', lastContactAt: id === 'c3' ? null : 990, term: 3, match: 10 })),
  settings: { lastContactThresholdMs: 500, maxTrailingLogs: 5 },
  commitStall: { stalledMs: 0, limitMs: 1000 },
}).report;

function source(report: ClusterHealthReport | null): HealthSource {
  return { report: () => report, preferredLeader: () => ({ id: null, note: 'no preferred leader is set' }), leaderWaitMs: 50 };
}

class FakeForwarder {
  readonly calls: Array<{ address: string; method: string; request: object }> = [];
  readonly deadlines: number[] = [];
  answer: ((deadline: number) => Promise<unknown>) | null = null;

  call<Res>(address: string, method: string, request: object, deadline: number): Promise<Res> {
    this.calls.push({ address, method, request });
    this.deadlines.push(deadline);
    return (this.answer ?? (() => Promise.reject(new Error('no answer'))))(deadline) as Promise<Res>;
  }
}

function ops(self: string, leader: string | null, report: ClusterHealthReport | null, forwarder = new FakeForwarder()) {
  const host = new FakeConsensus(self, { leader, voters: ['c1', 'c2', 'c3'] });
  return { ops: healthOps({ id: self, host, addressOf: (id) => `addr-${id}`, forwarder, source: source(report) }), forwarder };
}

const soon = (): number => Date.now() + 2000;

void t.test('the leader answers from its own report', async (t) => {
  const { ops: leader } = ops('c1', 'c1', REPORT);
  const h = decodeHealth(await leader.health({ forwarded: false }, soon()));
  t.strictSame([h.healthy, h.leader, h.failureTolerance, h.answeredBy], [true, 'c1', 0, 'c1']);
  t.strictSame(h.members.map((m) => [m.id, m.healthy, m.lastContactMs]), [['c1', true, 0], ['c2', true, 10], ['c3', false, null]]);
  t.match(h.members[2]!.reason, /offline, never heard from by the leader/);
});

void t.test("a follower relays the leader's view, marked as answered by itself", async (t) => {
  const { ops: follower, forwarder } = ops('c2', 'c1', null);
  forwarder.answer = async () => reportToWire(REPORT, 'c1', { id: null, note: '' });
  const h = decodeHealth(await follower.health({ forwarded: false }, soon()));
  t.strictSame(forwarder.calls, [{ address: 'addr-c1', method: 'health', request: { forwarded: true } }], 'one hop, marked forwarded');
  t.strictSame([h.healthy, h.leader, h.answeredBy], [true, 'c1', 'c2']);
});

void t.test('without a reachable leader the answer is unhealthy, with the reason', async (t) => {
  const { ops: leaderless } = ops('c2', null, null);
  const none = decodeHealth(await leaderless.health({ forwarded: false }, soon()));
  t.strictSame([none.healthy, none.leader, none.failureTolerance], [false, null, 0]);
  t.equal(none.reason, 'no leader: c2 knows of none');
  t.ok(none.members.every((m) => !m.healthy && m.stableSince === null && m.term === null), 'nobody judged the members');

  const { ops: cutOff, forwarder } = ops('c2', 'c1', null);
  forwarder.answer = () => Promise.reject(new Error('UNAVAILABLE: connection refused'));
  const unreachable = decodeHealth(await cutOff.health({ forwarded: false }, soon()));
  t.equal(unreachable.healthy, false);
  t.equal(unreachable.reason, 'leader c1 did not answer c2: UNAVAILABLE: connection refused');
});

void t.test('a leader that never answers is reported unhealthy after the leader wait, not at the deadline', async (t) => {
  const { ops: follower, forwarder } = ops('c2', 'c1', null);
  // Silent until its deadline, as a frozen leader's connection is.
  forwarder.answer = (deadline) => new Promise((_, reject) => setTimeout(() => reject(new Error('DEADLINE_EXCEEDED: no answer')), Math.max(0, deadline - Date.now())));
  const asked = Date.now();
  const h = decodeHealth(await follower.health({ forwarded: false }, asked + 60_000));
  t.equal(h.healthy, false);
  t.equal(h.reason, 'leader c1 did not answer c2: DEADLINE_EXCEEDED: no answer');
  t.ok(forwarder.deadlines[0]! <= Date.now() && forwarder.deadlines[0]! < asked + 60_000, 'the relay was cut at the leader wait (50 ms here), not at the 60 s deadline');
});

void t.test('a relayed request reaching a node that does not lead is refused, never relayed again', async (t) => {
  const { ops: follower, forwarder } = ops('c3', 'c1', null);
  await t.rejects(follower.health({ forwarded: true }, soon()), ServiceFailure);
  t.strictSame(forwarder.calls, []);
});

void t.test('an answer without a leader names why this node is cut off (a refused cluster.name, say): often why it has none', async (t) => {
  const host = new FakeConsensus('c2', { leader: null, voters: ['c1', 'c2', 'c3'] });
  const refused = 'c2 is cut off from a quorum: no peer heard; peers c1, c3 refuse cluster.name "typo" (they run cluster "prod")';
  let cutOff: string | null = refused;
  const answer = healthOps({ id: 'c2', host, addressOf: (id) => `addr-${id}`, forwarder: new FakeForwarder(), source: source(null), cutOff: () => cutOff });
  const h = decodeHealth(await answer.health({ forwarded: false }, soon()));
  t.equal(h.reason, `no leader: c2 knows of none; ${refused}`);
  cutOff = null;
  t.equal(decodeHealth(await answer.health({ forwarded: false }, soon())).reason, 'no leader: c2 knows of none', 'nothing added when it is not cut off');
});

void t.test('peers answering for another cluster id make the answer unhealthy, on the leader and on the node relaying (B1)', async (t) => {
  const other = (id: string): string => `c9 (cluster 00000000000000bb) answers for another cluster than ${id}'s (00000000000000aa): two clusters ...`;
  const leaderHost = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  let leaderSees = '';
  const leader = healthOps({ id: 'c1', host: leaderHost, addressOf: (id) => `addr-${id}`, forwarder: new FakeForwarder(), source: source(REPORT), otherClusters: () => leaderSees });
  t.match(decodeHealth(await leader.health({ forwarded: false }, soon())), { healthy: true, reason: '' }, 'none seen: as the leader judged');
  leaderSees = other('c1');
  const judged = decodeHealth(await leader.health({ forwarded: false }, soon()));
  t.match(judged, { healthy: false, reason: other('c1'), leader: 'c1' }, "each of two clusters under one file calls itself healthy: the leader's own evidence says otherwise");

  const forwarder = new FakeForwarder();
  forwarder.answer = async () => reportToWire(REPORT, 'c1', { id: null, note: '' });
  const followerHost = new FakeConsensus('c2', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const follower = healthOps({ id: 'c2', host: followerHost, addressOf: (id) => `addr-${id}`, forwarder, source: source(null), otherClusters: () => other('c2') });
  t.match(decodeHealth(await follower.health({ forwarded: false }, soon())), { healthy: false, reason: other('c2'), answeredBy: 'c2' }, "the relaying node's own evidence too");
});
