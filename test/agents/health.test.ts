/**
 * Agent health on the deterministic hub: online means connected to a controller that a quorum
 * hears from; a move within the timeout is no outage; dead controllers' agents are judged by the
 * leader. Issue 13, item 4, and the bad-input list (floods, herds, identities).
 */
import t from 'tap';
import { IDLE_TICK_MS, MAX_STREAMS_PER_CERTIFICATE, TAKEOVER_MIN_INTERVAL_MS } from '../../src/agents/hub.js';
import { certificateStream, PLAINTEXT_STREAM } from '../../src/agents/identity.js';
import { agentsKind } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, advance, applyCmd, settle, svc } from './hub-harness.js';

function stage(n: number): { log: SimLog; clock: { now: number }; cs: SimController[] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  const cs = Array.from({ length: n }, (_, i) => new SimController(`c${i + 1}`, log, clock));
  for (const c of cs) c.tick();
  log.propose(applyCmd(svc('web')));
  settle(cs);
  return { log, clock, cs };
}

const statusAudits = (c: SimController, id: string): string[] =>
  c.audits.filter((e) => e.type === 'agent.status' && e.subject === id).map((e) => `${e.from}->${e.to}`);

/** Advances until `a`'s stream is closed (at most 10 s after `since`): how long after `since` that was. */
function closedAfter(a: SimAgent, clock: { now: number }, cs: readonly SimController[], since: number): number {
  while (a.closedWith === null && clock.now - since < 10_000) advance(clock, cs, 50);
  return clock.now - since;
}

/** A new agent `id` connecting to `c` now, once the controllers have settled: served, or refused (closedWith). */
function connectNew(c: SimController, cs: readonly SimController[], id: string): SimAgent {
  const a = new SimAgent(id);
  a.connect(c);
  settle(cs);
  return a;
}

void t.test('a controller cut off from a quorum closes its agents\' streams within one election timeout, and refuses new ones', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  const agents = [new SimAgent('a1'), new SimAgent('a2')];
  for (const a of agents) a.connect(c1);
  settle(cs);
  c1.quorum = false;
  const cutAt = clock.now;
  while (agents.some((a) => a.closedWith === null)) advance(clock, cs, 50);
  t.ok(clock.now - cutAt <= 1000, `closed ${clock.now - cutAt}ms after the cut (election timeout 1000ms)`);
  t.match(agents[0]!.closedWith, { code: 'unavailable', reason: /cut off from a quorum/ });
  const late = new SimAgent('a3');
  late.connect(c1);
  t.match(late.closedWith, { code: 'unavailable' }, 'a new stream is refused while cut off');
  c1.quorum = true;
  advance(clock, cs, 100);
  late.connect(c1);
  settle(cs);
  t.equal(late.closedWith, null, 'served again once a quorum is heard');
});

void t.test("a controller its peers refuse (its cluster.name, say) tells its agents so when it sheds them", async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  const a = new SimAgent('a1');
  a.connect(c1);
  settle(cs);
  c1.refusals = 'c2 refuses it as CLUSTER_NAME: c1\'s file names the cluster "typo", it runs "prod"';
  advance(clock, cs, 500);
  t.equal(a.closedWith, null, 'a refusal alone sheds nobody: only being cut off does');
  c1.quorum = false;
  while (a.closedWith === null) advance(clock, cs, 50);
  t.match(a.closedWith, { code: 'unavailable', reason: /^c1 is cut off from a quorum \([^)]*\); c2 refuses it as CLUSTER_NAME: .*; try another controller$/ });
  const late = new SimAgent('a2');
  late.connect(c1);
  t.match(late.closedWith, { code: 'unavailable', reason: /c2 refuses it as CLUSTER_NAME/ }, 'and a new stream is refused naming it');
});

void t.test('a controller that hears a quorum but no leader for three election timeouts sheds its agents; an election keeps them', async (t) => {
  const { clock, cs } = stage(2);
  const [c1, c2] = cs as [SimController, SimController];
  const a = new SimAgent('a1');
  a.connect(c1);
  settle(cs);
  // An election: no leader for two election timeouts (1000 ms each), then one.
  c1.leaderSilentSince = clock.now;
  advance(clock, cs, 2 * 1000);
  t.equal(a.closedWith, null, 'kept through an election');
  c1.leaderSilentSince = null;
  advance(clock, cs, 500);
  // A leader only c1 cannot reach: its log would stand still while it still hears a quorum.
  const lostAt = clock.now;
  c1.leaderSilentSince = lostAt;
  const took = closedAfter(a, clock, cs, lostAt);
  t.ok(took > 3 * 1000 && took <= 3 * 1000 + 100, `closed ${took}ms after the leader was last heard (3 election timeouts: 3000ms)`);
  t.match(a.closedWith, { code: 'unavailable', reason: /c1 is cut off from the leader \(nothing for \d+ms, though a quorum is heard\)/ });
  const next = new SimAgent('a1');
  next.connect(c1);
  t.match(next.closedWith, { code: 'unavailable', reason: /cut off from the leader/ }, 'refused while it hears no leader');
  const moved = new SimAgent('a1');
  moved.connect(c2);
  advance(clock, cs, 500);
  t.match(c2.record('a1'), { online: true, controller: 'c2' }, 'served by a controller that hears the leader');
  t.same(statusAudits(c2, 'a1'), ['null->online'], 'and never shown offline');
  c1.leaderSilentSince = null;
  advance(clock, cs, 100);
  t.equal(connectNew(c1, cs, 'a2').closedWith, null, 'served again once it hears a leader');
});

void t.test('a controller whose reports go unanswered while it hears the leader sheds its agents after three election timeouts', async (t) => {
  // The leader hears nothing from c1 (a link or a port that works one way): c1's agents'
  // claims and ACKs cannot commit, and the leader never advances c1's commit index.
  const { log, clock, cs } = stage(2);
  const [c1, c2] = cs as [SimController, SimController];
  const a = new SimAgent('a1');
  a.connect(c1);
  settle(cs);
  c1.unheardByLeader = true;
  log.propose(applyCmd(svc('db')));
  settle(cs);
  t.equal(a.config.version, 2, 'the change reached the agent');
  t.equal(c1.record('a1')!.ackedVersion, 1, 'its ACK is in a report that goes unanswered');
  advance(clock, cs, 1000);
  t.equal(a.closedWith, null, 'kept while the report is out for less than three election timeouts');
  // Our own event loop blocked for five seconds: not the leader's silence (beyond the stall
  // threshold of 500 ms, which counts as for agents).
  clock.now += 5000;
  c1.tick();
  advance(clock, cs, 100);
  t.equal(a.closedWith, null, 'our own stall is not counted');
  // An election: once the leader has been silent for an election timeout, the report's time
  // starts again (1,600 ms counted so far, 1,000 more in the election's first timeout).
  c1.leaderSilentSince = clock.now;
  advance(clock, cs, 1500);
  c1.leaderSilentSince = null;
  const heardAt = clock.now;
  const took = closedAfter(a, clock, cs, heardAt);
  t.ok(took > 3 * 1000 - 100 && took <= 3 * 1000 + 100, `closed ${took}ms after the leader was heard again (3 election timeouts: 3000ms)`);
  t.match(a.closedWith, { code: 'unavailable', reason: /c1 is not heard by the leader \(a report of its agents unanswered for \d+ms, though the leader is heard\)/ });
  const next = new SimAgent('a2');
  next.connect(c1);
  t.match(next.closedWith, { code: 'unavailable', reason: /not heard by the leader/ }, 'refused while its report is unanswered');
  const moved = new SimAgent('a1');
  moved.connect(c2);
  advance(clock, cs, 500);
  t.match(c2.record('a1'), { online: true, controller: 'c2', ackedVersion: 2 }, 'served by a controller the leader hears');
  t.same(statusAudits(c2, 'a1'), ['null->online'], 'and never shown offline');
  c1.unheardByLeader = false;
  advance(clock, cs, 100);
  t.match(c2.record('a1'), { online: true, controller: 'c2' }, "c1's late report does not take the agent back");
  t.equal(connectNew(c1, cs, 'a3').closedWith, null, 'served again once its report commits');
});

void t.test('a mesh report left unanswered (a name a lazy agent resolved) sheds the agents the same way', async (t) => {
  const { log, clock, cs } = stage(2);
  const [c1] = cs as [SimController, SimController];
  const a = new SimAgent('a1', ['http', 'tcp'], 'a1-boot', { lazy: true, dependencies: ['web'] });
  a.connect(c1);
  settle(cs);
  log.propose(applyCmd(svc('db')));
  settle(cs);
  c1.unheardByLeader = true;
  const askedAt = clock.now;
  t.equal(a.resolve('db'), 'fallback', 'not in its set yet: the miss goes to the leader in a mesh report');
  const took = closedAfter(a, clock, cs, askedAt);
  t.ok(took > 3 * 1000 && took <= 3 * 1000 + 100, `closed ${took}ms after the report went out (3 election timeouts: 3000ms)`);
  t.match(a.closedWith, { code: 'unavailable', reason: /not heard by the leader/ });
  c1.unheardByLeader = false;
  advance(clock, cs, 100);
  t.ok(c1.meshResults.length > 0, 'the report commits once the leader hears c1');
  t.equal(connectNew(c1, cs, 'a2').closedWith, null, 'served again');
});

void t.test('an agent that moves to another controller within its timeout is not an outage', async (t) => {
  const { clock, cs } = stage(2);
  const [c1, c2] = cs as [SimController, SimController];
  const a = new SimAgent('a1');
  a.connect(c1);
  settle(cs);
  a.disconnect();
  advance(clock, cs, 600);
  a.connect(c2);
  advance(clock, cs, 10_000);
  t.match(c1.record('a1'), { online: true, controller: 'c2' });
  for (const c of cs) t.same(statusAudits(c, 'a1'), ['null->online'], `${c.id}: no offline flap`);
});

void t.test('an agent gone for good is offline after its timeout plus grace, audited once by every controller', async (t) => {
  const { clock, cs } = stage(2);
  const [c1] = cs as [SimController, SimController];
  const a = new SimAgent('a1');
  a.connect(c1);
  settle(cs);
  const timeout = c1.record('a1')!.timeoutMs;
  const gone = clock.now;
  a.disconnect();
  while (c1.record('a1')!.online) advance(clock, cs, 50);
  const took = clock.now - gone;
  t.ok(took >= timeout && took <= timeout + c1.hub.graceMs(timeout) + 100, `offline after ${took}ms (timeout ${timeout}ms, grace ${c1.hub.graceMs(timeout)}ms)`);
  t.match(c1.record('a1'), { statusReason: 'stream closed' });
  for (const c of cs) t.same(statusAudits(c, 'a1'), ['null->online', 'online->offline'], `${c.id} audits it`);
});

void t.test('a hub with nothing to serve is idle (its driver ticks it slowly) until a stream opens, and again once its last departure is judged', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  t.ok(c1.hub.idle, 'no agents: idle');
  const a = new SimAgent('a1');
  a.connect(c1);
  t.notOk(c1.hub.idle, 'a hello arrived: busy at once');
  settle(cs);
  advance(clock, cs, 500);
  t.notOk(c1.hub.idle, 'serving an agent: busy');
  a.disconnect();
  c1.tick();
  t.notOk(c1.hub.idle, 'the departed agent is still within its grace: busy');
  while (c1.record('a1')!.online) advance(clock, cs, 50);
  advance(clock, cs, 50);
  t.ok(c1.hub.idle, 'the departure is judged: idle again');
  // A long idle spell between two ticks is neither a stall nor lateness: an agent that arrives
  // right after it is admitted and served as on a controller that ticked all along.
  clock.now += 10_000;
  const b = new SimAgent('a2');
  b.connect(c1);
  advance(clock, cs, 50);
  settle(cs);
  t.equal(b.closedWith, null);
  t.not(a.config.version, null);
  t.equal(b.config.version, a.config.version, 'served the current version');
});

void t.test('an agent that stops answering is cut off after its adaptive timeout', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  const a = new SimAgent('a1');
  a.connect(c1);
  advance(clock, cs, 2000);
  a.answerPings = false;
  while (a.closedWith === null) advance(clock, cs, 50);
  t.match(a.closedWith, { code: 'unavailable', reason: /heartbeat timeout \d+ms/ });
  const silence = clock.now - a.lastSentAt;
  t.ok(silence > 1000 && silence <= 1100, `closed after ${silence}ms of silence (timeout 1000ms, ticks of 50ms)`);
  while (c1.record('a1')!.online) advance(clock, cs, 50);
  t.match(c1.record('a1'), { online: false, statusReason: /heartbeat timeout/ });
});

/**
 * One controller holding about 400 KB of configuration (100 services, 16 labels of 250 bytes
 * each: 3 s at the 128 KiB/s floor), and an agent that neither replies nor pongs, connected.
 */
function hungAgentWithBigPush(pushParts: boolean): { clock: ReturnType<typeof stage>['clock']; cs: SimController[]; c1: SimController; a: SimAgent } {
  const { log, clock, cs } = stage(1);
  const c1 = cs[0]!;
  const labels = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`l${i}`, 'x'.repeat(250)]));
  log.propose(applyCmd(...Array.from({ length: 100 }, (_, i) => ({ ...svc(`s${i}`), labels }))));
  settle(cs);
  const a = new SimAgent('a1');
  a.pushParts = pushParts;
  a.autoReply = false;
  a.answerPings = false;
  a.connect(c1);
  settle(cs);
  return { clock, cs, c1, a };
}

void t.test('an agent that takes pushes in parts gets no allowance: a hung one is closed after its timeout, whatever the push', async (t) => {
  const { clock, cs, a } = hungAgentWithBigPush(true);
  t.equal(a.received.length, 1, 'the whole configuration is on its way');
  t.ok(a.pingTimeouts.every((ms) => ms < 2000), `no ping tells it to wait for a transfer (${a.pingTimeouts.join(', ')} ms)`);
  const sentAt = clock.now;
  while (a.closedWith === null && clock.now - sentAt < 10_000) advance(clock, cs, 50);
  t.ok(clock.now - sentAt <= 1000 + 200, `closed ${clock.now - sentAt} ms after the push: its timeout, not 3 s more (attack round 8, G10)`);
  t.match(a.closedWith, { code: 'unavailable', reason: /heartbeat timeout/ });
});

void t.test('a push that takes longer than the timeout to arrive is announced by a ping and its transfer is not taken for silence', async (t) => {
  const { clock, cs, c1, a } = hungAgentWithBigPush(false);
  t.equal(a.received.length, 1, 'the whole configuration is on its way');
  const ahead = a.pingTimeouts.at(-1)!;
  t.ok(ahead >= 1000 + 3000, `the ping ahead of it tells the agent to wait its transfer time too: ${ahead} ms`);
  const sentAt = clock.now;
  // Neither the ACK nor any pong comes back while the push crosses the link.
  while (a.closedWith === null && clock.now - sentAt < 10_000) advance(clock, cs, 50);
  const closedAfter = clock.now - sentAt;
  t.ok(closedAfter > ahead, `closed only after the transfer time and a timeout (${closedAfter} ms)`);
  t.match(a.closedWith, { code: 'unavailable', reason: /heartbeat timeout/ });

  const b = new SimAgent('b1');
  b.connect(c1);
  settle(cs);
  advance(clock, cs, 200);
  t.not(b.config.version, null, 'an agent that receives it in time ACKs it');
  b.answerPings = false;
  const quietFrom = clock.now;
  while (b.closedWith === null && clock.now - quietFrom < 10_000) advance(clock, cs, 50);
  t.ok(clock.now - quietFrom <= 1100, `once it answered, the usual timeout holds: closed after ${clock.now - quietFrom} ms of silence`);
  t.equal(c1.hub.counters.pushes, 2, 'one push each: nothing re-sent');
});

void t.test('our own stall is not counted against agents', async (t) => {
  const { clock, cs } = stage(1);
  const a = new SimAgent('a1');
  a.connect(cs[0]!);
  advance(clock, cs, 1000);
  clock.now += 5000; // the controller's event loop was blocked for five seconds
  cs[0]!.tick();
  settle(cs);
  t.equal(a.closedWith, null);
  t.equal(cs[0]!.record('a1')?.online, true);
});

void t.test('when a controller dies its agents reconnect elsewhere and their status stays true', async (t) => {
  const { clock, cs } = stage(3);
  const [c1, c2, c3] = cs as [SimController, SimController, SimController];
  c2.leading = true;
  const agents = Array.from({ length: 9 }, (_, i) => new SimAgent(`a${i}`));
  for (const [i, a] of agents.entries()) a.connect(cs[i % 3]!);
  settle(cs);
  // c1 dies: its streams break (the agents see it at once) and it reports nothing more.
  const survivors = [c2, c3];
  for (const a of agents.filter((x) => x.controller === c1)) {
    a.controller = null;
    a.connect(c3);
  }
  c2.unreachable.set('c1', clock.now);
  c3.unreachable.set('c1', clock.now);
  advance(clock, survivors, 10_000);
  for (const a of agents) t.match(c2.record(a.id), { online: true }, `${a.id} stays online`);
  for (const c of survivors) for (const a of agents) t.same(statusAudits(c, a.id), ['null->online'], `${c.id}: ${a.id} never offline`);
  t.equal(a0pushes(c2), 9, 'no agent was sent its configuration again');
});

function a0pushes(c: SimController): number {
  return c.sm.view(agentsKind).list().reduce((n, r) => n + r.pushes, 0);
}

/**
 * c2 leads and serves nothing; c1 serves agent a1 and is then paused with the stream open, so
 * nobody reports for it. `tick` advances c2 until it takes a1 offline; returns how long that
 * took and the earliest it may (timeout, grace, election timeout).
 */
function deadControllerAgent(tick: (clock: { now: number }, c2: SimController) => void): { took: number; limit: number; c2: SimController; timeout: number } {
  const { clock, cs } = stage(2);
  const [c1, c2] = cs as [SimController, SimController];
  c2.leading = true;
  new SimAgent('a1').connect(c1);
  settle(cs);
  const timeout = c1.record('a1')!.timeoutMs;
  c2.unreachable.set('c1', clock.now);
  const from = clock.now;
  while (c2.record('a1')!.online) tick(clock, c2);
  return { took: clock.now - from, limit: timeout + c2.hub.graceMs(timeout) + 1000, c2, timeout };
}

void t.test('the leader takes offline the agents of a controller nobody hears from, after their timeout, grace and an election timeout', async (t) => {
  const { took, limit, c2, timeout } = deadControllerAgent((clock, c) => advance(clock, [c], 50));
  t.ok(took > limit && took <= limit + 400, `offline after ${took}ms (timeout ${timeout}, grace ${c2.hub.graceMs(timeout)}, election timeout 1000)`);
  t.match(c2.record('a1'), { statusReason: /controller c1 unreachable/ });
  t.same(statusAudits(c2, 'a1'), ['null->online', 'online->offline']);
});

void t.test('an idle leader, ticked every IDLE_TICK_MS by a timer that fires a little early, judges a dead controller\'s agents on every tick', async (t) => {
  // setInterval(250) callbacks see performance.now() advance by a little less than 250 at times.
  const step = IDLE_TICK_MS - 0.4;
  let idle = true;
  const { took, limit } = deadControllerAgent((clock, c) => {
    idle &&= c.hub.idle;
    advance(clock, [c], step, step);
  });
  t.ok(idle, 'the leader served no agent: its driver ticked it slowly');
  t.ok(took > limit && took <= limit + IDLE_TICK_MS, `offline after ${took.toFixed(1)}ms, at most one idle tick after ${limit}ms`);
});

void t.test('a second connection with the same id takes over: the newer stream wins, the older is closed and audited', async (t) => {
  const { clock, cs } = stage(2);
  const [c1, c2] = cs as [SimController, SimController];
  const first = new SimAgent('a1');
  first.connect(c1);
  settle(cs);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  const second = new SimAgent('a1', ['http', 'tcp'], 'other-process');
  second.connect(c1);
  settle(cs);
  t.match(first.closedWith, { code: 'aborted', reason: /taken over by a newer connection/ });
  t.match(c1.record('a1'), { online: true, session: second.session });
  t.ok(c1.audits.some((e) => e.type === 'agent.takeover' && e.subject === 'a1'));

  const third = new SimAgent('a1', ['http', 'tcp'], 'third-process');
  third.connect(c2);
  settle(cs);
  t.match(second.closedWith, { code: 'aborted', reason: /on c2/ }, 'across controllers, by the order claims commit');
  t.match(c2.record('a1'), { controller: 'c2', online: true });
  t.same(statusAudits(c1, 'a1'), ['null->online'], 'no offline in between');
});

void t.test('a controller that applies its claim and a later one together (it lagged) yields to the later', async (t) => {
  // Found by the agents' fault simulation (agents-sim.ts, seed 144): judged against the record
  // alone, the lagging controller saw neither claim as a takeover and kept serving an agent
  // whose claim another process had superseded.
  const { cs } = stage(2);
  const [c1, c2] = cs as [SimController, SimController];
  c1.lagging = true;
  const first = new SimAgent('a1');
  first.connect(c1);
  settle(cs);
  const second = new SimAgent('a1', ['http', 'tcp'], 'other-process');
  second.connect(c2);
  settle(cs);
  t.equal(first.closedWith, null, 'c1 has not applied either claim yet');
  c1.lagging = false;
  c1.catchUp();
  t.match(first.closedWith, { code: 'aborted', reason: /on c2/ }, 'c1 yields once it applies the later claim');
  t.ok(c1.audits.some((e) => e.type === 'agent.takeover' && e.subject === 'a1'));
  t.match(c1.record('a1'), { controller: 'c2', session: second.session, online: true });
});

void t.test('a late hello from an older connection of the same process does not take over', async (t) => {
  const { cs } = stage(1);
  const a = new SimAgent('a1');
  a.connect(cs[0]!, { epoch: { boot: 'a1-boot', seq: 5 } });
  settle(cs);
  const stale = new SimAgent('a1');
  stale.connect(cs[0]!, { epoch: { boot: 'a1-boot', seq: 4 } });
  t.match(stale.closedWith, { code: 'aborted', reason: /a newer connection/ });
  t.equal(a.closedWith, null);
});

void t.test('after a restart, records that say an agent is here without a stream go offline unless it returns', async (t) => {
  const { log, clock, cs } = stage(1);
  const a = new SimAgent('a1');
  const b = new SimAgent('b1');
  a.connect(cs[0]!);
  b.connect(cs[0]!);
  settle(cs);
  // A fresh process with the same id and the same log.
  const restarted = new SimController('c1', log, clock);
  restarted.replayUntil = log.entries.length;
  restarted.tick();
  restarted.catchUp();
  a.controller = null;
  b.controller = null;
  advance(clock, [restarted], 500);
  b.connect(restarted);
  advance(clock, [restarted], 6000);
  t.match(restarted.record('a1'), { online: false, statusReason: /not connected to c1/ });
  t.match(restarted.record('b1'), { online: true });
  t.same(statusAudits(restarted, 'b1'), [], 'b1 never flapped');
});

void t.test('a claim that never committed is made again and audited as a divergence', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  const a = new SimAgent('a1');
  a.connect(c1);
  c1.hub.takeReport(clock.now); // the report is lost on its way to the leader
  advance(clock, cs, 5000);
  t.match(c1.record('a1'), { online: true, controller: 'c1' });
  t.ok(c1.audits.some((e) => e.type === 'state.divergence' && e.subject === 'a1'));
});

void t.test('10,000 agents connecting at once are welcomed at once and admitted a bounded number per tick, first come first served', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  const agents = Array.from({ length: 10_000 }, (_, i) => new SimAgent(`a${String(i).padStart(5, '0')}`));
  for (const a of agents) a.connect(c1);
  t.ok(agents.every((a) => a.session !== ''), 'every one welcomed (and heartbeated) while it waits');
  t.ok(c1.hub.queuedCount >= 9_900, `queued ${c1.hub.queuedCount}`);
  settle(cs);
  const admitted = (): number => agents.filter((a) => a.received.length > 0).length;
  let previous = admitted();
  t.equal(previous, 60, 'the budget of the tick in progress at once (50, grown by 10 on the first on-time tick)');
  let ticks = 0;
  let inOrder = true;
  let maxStep = 0;
  while (c1.hub.queuedCount > 0) {
    advance(clock, cs, 50);
    ticks++;
    const now = admitted();
    maxStep = Math.max(maxStep, now - previous);
    const firstWaiting = agents.findIndex((a) => a.received.length === 0);
    if (firstWaiting !== -1 && firstWaiting < now) inOrder = false;
    previous = now;
  }
  t.ok(inOrder, 'in arrival order: none overtaken, none starved');
  t.ok(maxStep <= 200, `at most 200 a tick (most in one tick: ${maxStep})`);
  t.ok(ticks >= 49, `admitted over ${ticks} ticks`);
  t.equal(agents.filter((a) => a.closedWith !== null).length, 0, 'nobody timed out waiting');
  settle(cs);
  t.equal(agents.filter((a) => a.config.version === 1).length, 10_000, 'every one synced');
  t.equal(c1.sm.view(agentsKind).list().filter((r) => r.online).length, 10_000);
  t.equal(c1.hub.store.held, 1);
});

void t.test('a controller whose ticks come late admits fewer hellos and does not judge its peers silent', async (t) => {
  const log = new SimLog();
  const clock = { now: 1000 };
  const c1 = new SimController('c1', log, clock, { tickMs: 50 });
  c1.tick();
  log.propose(applyCmd(svc('web')));
  settle([c1]);
  const agents = Array.from({ length: 2_000 }, (_, i) => new SimAgent(`a${i}`));
  for (const a of agents) a.connect(c1);
  settle([c1]);
  const admitted = (): number => agents.filter((a) => a.received.length > 0).length;
  // Ticks 150 ms apart (three times late). The first follows a tick that found the hub idle,
  // which the driver ticks only every IDLE_TICK_MS: that gap is not judged, and the budget
  // grows (60 -> 70). From then on it halves each time, down to 10.
  const steps: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = admitted();
    clock.now += 150;
    c1.tick();
    settle([c1]);
    steps.push(admitted() - before);
  }
  t.same(steps, [70, 35, 17, 10, 10], `admitted per late tick: ${steps.join(', ')}`);
  // A quorum silent for far longer than 3/4 of an election timeout, but our own ticks are late:
  c1.quorum = false;
  clock.now += 150;
  c1.tick();
  t.equal(c1.hub.cutOffAt(clock.now), false, 'no verdict on peers while the loop is late');
  clock.now += 50;
  c1.tick();
  clock.now += 50;
  c1.tick();
  t.equal(c1.hub.cutOffAt(clock.now), true, 'judged once the ticks keep time');
});

void t.test('bad input: identity mismatch, replies before hello, a second hello, no hello', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  c1.run(c1.hub.open(900_001, certificateStream('agent-x'), clock.now));
  const spoof = new SimAgent('agent-y');
  spoof.stream = 900_001;
  spoof.controller = c1;
  c1.attach(900_001, spoof);
  spoof.send({ type: 'hello', agentId: 'agent-y', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, hosts: [] });
  t.match(spoof.closedWith, { code: 'denied', reason: /"agent-x" cannot speak for agent "agent-y"/ });

  // With TLS, a certificate without a CN names no agent: it speaks for none.
  c1.run(c1.hub.open(900_004, certificateStream(null), clock.now));
  const nameless = new SimAgent('agent-y');
  nameless.stream = 900_004;
  nameless.controller = c1;
  c1.attach(900_004, nameless);
  nameless.send({ type: 'hello', agentId: 'agent-y', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, hosts: [] });
  t.match(nameless.closedWith, { code: 'denied', reason: /no subject CN, so it names no agent and cannot speak for agent "agent-y"/ });
  t.equal(c1.hub.activeCount, 0, 'neither stream was admitted');

  c1.run(c1.hub.open(900_002, PLAINTEXT_STREAM, clock.now));
  c1.run(c1.hub.message(900_002, { type: 'ack', nonce: 1, version: 1 }, clock.now));
  t.match(c1.closed.get(900_002), { code: 'invalid', reason: /before the hello/ });

  const twice = new SimAgent('a2');
  twice.connect(c1);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  twice.connect(c1);
  const secondStream = twice.stream;
  c1.run(c1.hub.message(secondStream, { type: 'hello', agentId: 'a2', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'x', seq: 9 }, info: { protocols: [], lazy: false, dependencies: [], hosts: [] }, hosts: [] }, clock.now));
  t.match(c1.closed.get(secondStream), { code: 'invalid', reason: /a second hello/ });

  c1.run(c1.hub.open(900_003, PLAINTEXT_STREAM, clock.now));
  advance(clock, cs, 11_000);
  t.match(c1.closed.get(900_003), { code: 'invalid', reason: /no hello within 10000ms/ });
});

void t.test('a flood of NACKs and stale replies costs counters, not memory or pushes', async (t) => {
  const { log, cs } = stage(1);
  const c1 = cs[0]!;
  const a = new SimAgent('a1', ['http']);
  a.connect(c1);
  settle(cs);
  log.propose(applyCmd(svc('db', 'grpc')));
  settle(cs);
  const pushes = a.received.length;
  for (let i = 0; i < 10_000; i++) a.send({ type: 'nack', nonce: a.received.at(-1)!.nonce, version: 2, error: 'x'.repeat(10_000) });
  settle(cs);
  t.equal(a.received.length, pushes, 'no push caused');
  t.ok(c1.hub.counters.ignoredReplies >= 9_999);
  t.ok(Buffer.byteLength(c1.record('a1')!.lastError ?? '') <= 1024, 'the recorded error is bounded');
  t.equal(c1.hub.store.held, 2);
});

void t.test('a storm of hellos with one id and rising epochs: one takeover a second, the rest refused with no claim or audit event', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  const first = new SimAgent('a1');
  first.connect(c1);
  settle(cs);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  const storm = Array.from({ length: 200 }, (_, i) => new SimAgent('a1', ['http'], `storm-${i}`));
  for (const a of storm) a.connect(c1);
  settle(cs);
  const takeovers = (): number => c1.audits.filter((e) => e.type === 'agent.takeover').length;
  t.equal(takeovers(), 1, 'the first newer connection took over');
  t.match(first.closedWith, { code: 'aborted' });
  const refused = storm.filter((a) => a.closedWith?.code === 'exhausted');
  t.equal(refused.length, 199, 'every other one refused');
  t.match(refused[0]!.closedWith, { reason: /agent "a1" took over a connection here 0ms ago; another takeover waits 1000ms/ });
  t.equal(c1.hub.activeCount, 1, 'one stream served');
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  const later = new SimAgent('a1', ['http'], 'later-process');
  later.connect(c1);
  settle(cs);
  t.equal(takeovers(), 2, 'a second later, a newer connection takes over again');
  t.equal(later.closedWith, null);
});

void t.test('a storm of reconnects with one id, each stream closed before the next hello: one claim a second, no Raft write or push for the rest', async (t) => {
  const { log, clock, cs } = stage(1);
  const c1 = cs[0]!;
  const entries = log.entries.length;
  let pushes = 0;
  const refusals: string[] = [];
  for (let i = 0; i < 500; i++) {
    const a = new SimAgent('a1', ['http'], `churn-${i}`);
    a.connect(c1);
    settle(cs);
    pushes += a.received.length;
    if (a.closedWith !== null) refusals.push(`${a.closedWith.code}: ${a.closedWith.reason}`);
    a.disconnect();
    settle(cs);
    advance(clock, cs, 1);
  }
  t.equal(pushes, 1, 'only the first connection was claimed and pushed to');
  t.equal(refusals.length, 499, 'every later one was refused');
  t.match(refusals[1], /^exhausted: agent "a1" connected here \d+ms ago; a reconnect waits 1000ms$/);
  t.ok(log.entries.length - entries <= 2, `at most the claim and the departure were written (${log.entries.length - entries} entries)`);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  const later = new SimAgent('a1', ['http'], 'later-process');
  later.connect(c1);
  settle(cs);
  t.equal(later.closedWith, null, 'a second after the last claim, a reconnect is served');
  t.equal(later.received.length, 1);
});

void t.test('one certificate holds at most MAX_STREAMS_PER_CERTIFICATE streams on a controller, hellos or not', async (t) => {
  const { clock, cs } = stage(1);
  const c1 = cs[0]!;
  // 25,000 streams of one agent certificate that never said hello stalled a controller: now the fifth is refused at once.
  for (let i = 0; i < MAX_STREAMS_PER_CERTIFICATE; i++) c1.run(c1.hub.open(910_000 + i, certificateStream('edge-1'), clock.now));
  c1.run(c1.hub.open(910_100, certificateStream('edge-1'), clock.now));
  t.match(c1.closed.get(910_100), { code: 'exhausted', reason: /^the certificate "edge-1" holds 4 agent streams on c1, the most one certificate may$/ });
  for (let i = 0; i < MAX_STREAMS_PER_CERTIFICATE; i++) t.notOk(c1.closed.has(910_000 + i), `stream ${i + 1} of edge-1 stays`);
  c1.run(c1.hub.open(910_200, certificateStream('edge-2'), clock.now));
  t.notOk(c1.closed.has(910_200), 'another certificate is not held to edge-1 streams');
  c1.run(c1.hub.open(910_300, certificateStream(null), clock.now));
  t.notOk(c1.closed.has(910_300), 'nor is a certificate without a CN (it is refused at its hello)');
  for (let i = 0; i < 10; i++) c1.run(c1.hub.open(910_400 + i, PLAINTEXT_STREAM, clock.now));
  t.equal([...c1.closed.keys()].filter((k) => k >= 910_400).length, 0, 'without TLS there is no certificate to count');
  // A stream that ends gives its slot back.
  c1.run(c1.hub.closed(910_000, clock.now));
  c1.run(c1.hub.open(910_101, certificateStream('edge-1'), clock.now));
  t.notOk(c1.closed.has(910_101), 'after one of them ends, edge-1 may open another');
});
