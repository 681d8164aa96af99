/**
 * Agents gone for good, on the deterministic hub: the leader forgets a record offline longer than
 * the reconnect timeout, and then the agent's declaration and endpoints; never below the cluster
 * version that every member reads; never an agent that came back; a new leader keeps the clocks.
 */
import t from 'tap';
import { LeaderDuties, ORPHAN_GRACE_MS } from '../../src/agents/mesh-duties.js';
import { MeshReportQueue } from '../../src/agents/mesh-reports.js';
import { OfflineReaper, REAP_RETRY_MS } from '../../src/agents/offline-reaper.js';
import { ReportBatch } from '../../src/agents/report-batch.js';
import { StateMachine, agentsKind, clusterKind, meshKind, settingsKind, type AgentRecord, type KindCommand } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, advance, host, settle } from './hub-harness.js';
import { cluster, clusterVersion, report, run } from '../statemachine/mesh-helpers.js';

const TIMEOUT_MS = 5_000;

function stage(version: string | null): { log: SimLog; clock: { now: number }; cs: [SimController, SimController] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  const cs = [new SimController('c1', log, clock, { reconnectTimeoutMs: TIMEOUT_MS }), new SimController('c2', log, clock, { reconnectTimeoutMs: TIMEOUT_MS })] as [SimController, SimController];
  cs[0].leading = true;
  if (version !== null) log.propose(clusterVersion(version));
  for (const c of cs) c.tick();
  settle(cs);
  return { log, clock, cs };
}

/** Agent `id` hosting `web` on c2, then gone; returns when its record says offline. */
function goneAgent(id: string, clock: { now: number }, cs: SimController[]): { offlineAt: number } {
  const a = new SimAgent(id, ['http', 'tcp'], `${id}-boot`, { hosts: [host('web')] });
  a.connect(cs[1]!);
  settle(cs);
  advance(clock, cs, 500);
  a.disconnect();
  while (cs[0]!.record(id)?.online !== false) advance(clock, cs, 50);
  return { offlineAt: clock.now };
}

void t.test('the leader forgets an agent offline beyond the timeout, then its declaration and endpoints', async (t) => {
  const { clock, cs } = stage('0.2');
  const { offlineAt } = goneAgent('a1', clock, cs);
  t.same(cs[0].sm.view(meshKind).endpointAgents(), ['a1'], 'its endpoint is listed, unhealthy');
  while (clock.now - offlineAt < TIMEOUT_MS - 100) advance(clock, cs, 100);
  t.not(cs[0].record('a1'), null, 'kept within the timeout');
  while (cs[1].record('a1') !== null && clock.now - offlineAt < 3 * TIMEOUT_MS) advance(clock, cs, 100);
  const after = clock.now - offlineAt;
  t.equal(cs[1].record('a1'), null, `forgotten ${after}ms after going offline`);
  t.ok(after >= TIMEOUT_MS && after <= TIMEOUT_MS + 2_000, `within a scan of the timeout (${after}ms)`);
  for (const c of cs) {
    t.match(c.audits.find((e) => e.type === 'agent.forgotten'), { subject: 'a1', reason: /offline for more than 5s \(controller.agent_reconnect_timeout\)/ }, `${c.id} audits it`);
    t.equal(c.sm.view(meshKind).declaration('a1'), null, `${c.id}: the declaration is gone`);
    t.same(c.sm.view(meshKind).endpointAgents(), [], `${c.id}: no endpoint left`);
    t.match(c.audits.find((e) => e.type === 'agent.declaration.forgotten'), { subject: 'a1', reason: /endpoints left web/ });
  }
  t.equal(cs[0].hub.counters.reapsProposed, 1, 'one forget proposed');
  t.equal(cs[1].hub.counters.reapsProposed, 0, 'a follower proposes none');
  t.ok(cs[0].sm.view(meshKind).get('service', 'web') !== null, 'the service stays: only its endpoint went');
});

void t.test('below the forget level nothing is forgotten', async (t) => {
  const { clock, cs } = stage(null);
  const { offlineAt } = goneAgent('a1', clock, cs);
  while (clock.now - offlineAt < 3 * TIMEOUT_MS) advance(clock, cs, 250);
  t.not(cs[0].record('a1'), null);
  t.equal(cs[0].hub.counters.reapsProposed, 0);
  t.equal(cs[0].hub.reaper.tracked, 1, 'the clock runs all the same');
});

void t.test('an agent back within the timeout keeps its record, and its clock starts again', async (t) => {
  const { clock, cs } = stage('0.2');
  const { offlineAt } = goneAgent('a1', clock, cs);
  advance(clock, cs, TIMEOUT_MS - 1_500);
  const back = new SimAgent('a1', ['http', 'tcp'], 'a1-boot-2', { hosts: [host('web')] });
  back.connect(cs[0]);
  while (cs[1].record('a1')?.online !== true) advance(clock, cs, 50);
  back.disconnect();
  while (cs[1].record('a1')?.online !== false) advance(clock, cs, 50);
  const secondOffline = clock.now;
  while (clock.now - offlineAt < TIMEOUT_MS + 2_500) advance(clock, cs, 100);
  t.not(cs[1].record('a1'), null, `kept ${clock.now - offlineAt}ms after it first went offline`);
  while (cs[1].record('a1') !== null && clock.now - secondOffline < 3 * TIMEOUT_MS) advance(clock, cs, 100);
  t.ok(clock.now - secondOffline >= TIMEOUT_MS, `forgotten ${clock.now - secondOffline}ms after its second departure`);
});

void t.test('a new leader goes on with the clocks it kept as a follower', async (t) => {
  const { clock, cs } = stage('0.2');
  const { offlineAt } = goneAgent('a1', clock, cs);
  advance(clock, cs, TIMEOUT_MS / 2);
  cs[0].leading = false;
  cs[1].leading = true;
  while (cs[1].record('a1') !== null && clock.now - offlineAt < 3 * TIMEOUT_MS) advance(clock, cs, 100);
  const after = clock.now - offlineAt;
  t.ok(after >= TIMEOUT_MS && after <= TIMEOUT_MS + 2_000, `forgotten ${after}ms after going offline, not a timeout after the change of leader`);
  t.equal(cs[1].hub.counters.reapsProposed, 1);
});

const rec = (id: string, online: boolean, session = `${id}-s1`): AgentRecord =>
  ({ id, online, session }) as AgentRecord;

void t.test('the reaper: timing, retries, bounds', async (t) => {
  const r = new OfflineReaper(TIMEOUT_MS);
  t.equal(r.scanEveryMs, 1_250, 'a quarter of the timeout');
  t.equal(new OfflineReaper(72 * 3_600_000).scanEveryMs, 10_000, 'at most every 10 s');
  t.equal(new OfflineReaper(500).scanEveryMs, 250, 'at least every 250 ms');
  t.same(r.scan([rec('a1', false), rec('a2', true)], 0, true, true), [], 'nothing due at first sight');
  t.equal(r.tracked, 1, 'only the offline record is timed');
  t.same(r.scan([rec('a1', false)], 1_000, true, true), [], 'a scan within scanEveryMs is skipped');
  t.same(r.scan([rec('a1', false)], TIMEOUT_MS, true, false), [], 'the cluster may not forget yet');
  t.same(r.scan([rec('a1', false)], TIMEOUT_MS + 1_250, false, true), [], 'a follower proposes nothing');
  const due = r.scan([rec('a1', false)], TIMEOUT_MS + 2_500, true, true);
  t.match(due, [{ op: 'forget', id: 'a1', session: 'a1-s1', reason: /offline for more than 5s/ }]);
  t.same(r.scan([rec('a1', false)], TIMEOUT_MS + 3_750, true, true), [], 'not again while it commits');
  t.equal(r.scan([rec('a1', false)], TIMEOUT_MS + 2_500 + REAP_RETRY_MS, true, true).length, 1, 'asked again after the retry interval');
  // Offline again on a new stream, well past any retry: its clock starts again from this scan.
  const again = TIMEOUT_MS + 2_500 + 3 * REAP_RETRY_MS;
  t.same(r.scan([rec('a1', false, 'a1-s2')], again, true, true), [], 'a new stream since: its clock starts again');
  t.same(r.scan([rec('a1', false, 'a1-s2')], again + TIMEOUT_MS - 1, true, true), [], 'not due before a whole timeout on the new stream');
  t.match(r.scan([rec('a1', false, 'a1-s2')], again + TIMEOUT_MS + 1_250, true, true), [{ session: 'a1-s2' }], 'due a timeout after (at the next scan)');
  r.scan([], 100_000, true, true);
  t.equal(r.tracked, 0, 'a forgotten record is no longer timed');
});

void t.test('a forget waits behind anything pending for its agent in a report batch', async (t) => {
  const b = new ReportBatch();
  b.add({ op: 'disconnect', id: 'a1', session: 's1', reason: 'closed', pushes: 2 });
  b.add({ op: 'forget', id: 'a1', session: 's1', reason: 'gone' });
  t.match(b.take(10), [{ op: 'disconnect', pushes: 2 }], 'the disconnect (and its pushes) stays');
  b.add({ op: 'forget', id: 'a1', session: 's1', reason: 'gone' });
  b.add({ op: 'connect', id: 'a1', session: 's2', epoch: { boot: 'b', seq: 2 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, sync: { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 }, timeoutMs: 1000, pushes: 1 });
  t.match(b.take(10), [{ op: 'connect', session: 's2', pushes: 1 }], 'an agent back replaces its pending forget');
});

void t.test('the leader sweeps declarations left without a record, after a grace', async (t) => {
  const sm: StateMachine = cluster();
  run(sm, clusterVersion('0.2'));
  // A usage report opens a declaration for an agent with no record (as a claim still to commit would).
  run(sm, report(1, { usage: [{ agent: 'ghost', missed: ['db'], used: [] }] }) as KindCommand);
  const state = () => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), cluster: sm.view(clusterKind), revision: sm.revision() });
  const duties = new LeaderDuties();
  const queue = new MeshReportQueue('c1');
  duties.check(state(), 0, queue, 0, []);
  t.notOk(queue.forgetPending('ghost'), 'not at first sight: its claim may be about to commit');
  duties.check(state(), 0, queue, ORPHAN_GRACE_MS - 1, []);
  t.notOk(queue.forgetPending('ghost'));
  duties.check(state(), 0, queue, ORPHAN_GRACE_MS + 10_000, []);
  t.ok(queue.forgetPending('ghost'), 'after the grace');
  t.match(queue.take(0, 1_000), { forget: ['ghost'] });
  const quiet = new MeshReportQueue('c1');
  quiet.checkHealth('x');
  t.notOk('forget' in (quiet.take(0, 1_000) ?? {}), 'a report with nothing to forget has no forget field (older members refuse it)');
});

/**
 * Seed 50896 of the agents' simulation (--driver), its schedule reduced: a1's record is offline,
 * and a1 is on c3, a controller that hears a quorum but no leader, so its claim waits there. The
 * contract has it online (a quorum hears c3), and the leader hears c3: asked, c3 answers that it
 * serves a1. The reconnect timeout is the simulation's, 2 s, below the 3 s after which c3 sheds
 * its agents for want of a leader.
 */
const SHORT_MS = 2_000;

function onLeaderlessController(): { clock: { now: number }; cs: [SimController, SimController, SimController]; a: SimAgent } {
  const log = new SimLog();
  const clock = { now: 1000 };
  const cs = ['c1', 'c2', 'c3'].map((id) => new SimController(id, log, clock, { reconnectTimeoutMs: SHORT_MS })) as [SimController, SimController, SimController];
  cs[0].leading = true;
  log.propose(clusterVersion('0.2'));
  for (const c of cs) c.tick();
  settle(cs);
  // The leader hears c2 and c3 when it asks for their live agents.
  cs[0].elsewhere = () => [...cs[1].hub.live(clock.now), ...cs[2].hub.live(clock.now)];
  goneAgent('a1', clock, cs);
  advance(clock, cs, 900);
  cs[2].leaderSilentSince = clock.now;
  cs[2].reportsHeld = true;
  advance(clock, cs, 100);
  const a = new SimAgent('a1', ['http', 'tcp'], 'a1-boot-2', { hosts: [host('web')] });
  a.connect(cs[2]);
  advance(clock, cs, 50);
  return { clock, cs, a };
}

void t.test('an agent live on a controller whose claim waits is not forgotten; its claim commits onto its record', async (t) => {
  const { clock, cs, a } = onLeaderlessController();
  t.equal(a.controller, cs[2], 'a1 is on c3');
  // Past the timeout (and two scans) since its record went offline, short of c3's leaderless limit.
  while (clock.now - cs[2].leaderSilentSince! < 2_500 && cs[0].record('a1') !== null) advance(clock, cs, 50);
  t.equal(a.controller, cs[2], 'a1 is still on c3');
  t.not(cs[0].record('a1'), null, `not forgotten while live on c3 (${clock.now - cs[2].leaderSilentSince!}ms into its leaderless spell)`);
  cs[2].leaderSilentSince = null;
  cs[2].reportsHeld = false;
  advance(clock, cs, 200);
  t.match(cs[0].record('a1'), { online: true, controller: 'c3', session: a.session }, 'c3 heard again: its claim commits');
  t.equal(cs[0].audits.filter((e) => e.type === 'agent.forgotten').length, 0, 'never forgotten');
  t.ok(cs[0].sm.view(meshKind).declaration('a1') !== null, 'its declaration stays');
});

void t.test('shed by that controller, an agent is forgotten a whole timeout after it lost its stream, not before', async (t) => {
  const { clock, cs, a } = onLeaderlessController();
  while (a.controller !== null && cs[0].record('a1') !== null) advance(clock, cs, 50);
  t.not(cs[0].record('a1'), null, 'not forgotten while live on c3');
  t.match(a.closedWith, { code: 'unavailable', reason: /c3 is cut off from the leader/ }, 'c3 shed it');
  const shedAt = clock.now;
  while (cs[0].record('a1') !== null && clock.now - shedAt < 5 * SHORT_MS) advance(clock, cs, 50);
  const after = clock.now - shedAt;
  t.equal(cs[0].record('a1'), null, `forgotten ${after}ms after c3 shed it`);
  t.ok(after >= SHORT_MS, `a whole timeout after its last stream ended (${after}ms)`);
});
