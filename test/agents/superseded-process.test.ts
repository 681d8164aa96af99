/**
 * Claims of an agent's process that another process replaced (src/statemachine/superseded-boots.ts,
 * from cluster version SUPERSEDED_PROCESS_VERSION), and records left naming a controller that was
 * cut off while it served nobody. Both found by the agents' fault simulation (agents-sim.ts,
 * seeds 631 and 456 from 1): a restarted agent taken from its live process by its old process's
 * late claim, and an agent shown online on a controller it had left, for as long as nobody
 * connected there.
 */
import t from 'tap';
import { TAKEOVER_MIN_INTERVAL_MS } from '../../src/agents/hub.js';
import { CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION, agentsKind, type KindCommand } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, advance, applyCmd, settle, svc } from './hub-harness.js';

function stage(n: number, version: string | null): { log: SimLog; clock: { now: number }; cs: SimController[] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  const cs = Array.from({ length: n }, (_, i) => new SimController(`c${i + 1}`, log, clock));
  for (const c of cs) c.tick();
  if (version !== null) log.propose({ kind: 'cluster', op: 'set-version', version } as KindCommand);
  log.propose(applyCmd(svc('web')));
  settle(cs);
  return { log, clock, cs };
}

const offlineAudits = (c: SimController, id: string): number => c.audits.filter((e) => e.type === 'agent.status' && e.subject === id && e.to === 'offline').length;

void t.test("a restarted agent's old connection, claimed late by a controller the leader did not hear, does not take the agent from its new process", async (t) => {
  for (const version of [SUPERSEDED_PROCESS_VERSION, null]) {
    const fenced = version !== null;
    const { clock, cs } = stage(2, version);
    const [c1, c2] = cs as [SimController, SimController];
    const old = new SimAgent('a1', ['http', 'tcp'], 'old-process');
    old.connect(c1);
    settle(cs);
    // It moves to c2, whose reports the leader does not answer: that claim waits. Then it dies.
    c2.unheardByLeader = true;
    old.disconnect();
    old.connect(c2);
    settle(cs);
    old.disconnect();
    advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
    const fresh = new SimAgent('a1', ['http', 'tcp'], 'new-process');
    fresh.connect(c1);
    settle(cs);
    t.match(c1.record('a1'), { controller: 'c1', session: fresh.session, online: true }, 'the new process holds the agent');
    c2.unheardByLeader = false;
    advance(clock, cs, 4000);
    if (fenced) {
      t.equal(fresh.closedWith, null, "at the level, the old process's late claim loses: the live stream stays");
      t.match(c1.record('a1'), { controller: 'c1', session: fresh.session, online: true }, 'and the record names it');
      t.equal(offlineAudits(c1, 'a1'), 0, 'never shown offline');
      t.equal(c1.sm.view(agentsKind).supersededBoot('a1'), 'old-process', 'the replaced process is remembered');
    } else {
      t.match(fresh.closedWith, { code: 'aborted', reason: /taken over/ }, 'below the level, replicas decide as 0.8 did: the late claim takes the agent');
    }
  }
});

void t.test('a second live process with one id is refused at every controller while the other holds the agent, not only where it was taken over', async (t) => {
  for (const version of [SUPERSEDED_PROCESS_VERSION, null]) {
    const { clock, cs } = stage(3, version);
    const [c1, c2, c3] = cs as [SimController, SimController, SimController];
    const first = new SimAgent('a1', ['http', 'tcp'], 'first-process');
    first.connect(c1);
    settle(cs);
    advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
    const second = new SimAgent('a1', ['http', 'tcp'], 'second-process');
    second.connect(c2);
    settle(cs);
    t.match(first.closedWith, { code: 'aborted', reason: /taken over/ }, 'the newer process takes the agent over');
    advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
    // The first one fails over to a controller that did not close it.
    const again = new SimAgent('a1', ['http', 'tcp'], 'first-process');
    again.connect(c3, { epoch: { boot: 'first-process', seq: 2 } });
    settle(cs);
    advance(clock, cs, 500);
    if (version !== null) {
      t.match(again.closedWith, { code: 'aborted', reason: /two processes run with one agent id/ }, 'refused on c3 too');
      t.equal(second.closedWith, null, 'the holder keeps its stream');
      t.match(c3.record('a1'), { controller: 'c2', session: second.session, online: true });
      t.ok(c3.logs.some((m) => /two processes run with one agent id/.test(m)), 'c3 says so in its log');
    } else {
      t.equal(again.closedWith, null, 'below the level, a controller that did not note it lets it take over once');
      t.match(second.closedWith, { code: 'aborted', reason: /taken over/ });
    }
  }
});

void t.test('a record naming a controller that was cut off while its agent left goes offline once it is heard again, though nobody connects there', async (t) => {
  const { clock, cs } = stage(2, SUPERSEDED_PROCESS_VERSION);
  const c2 = cs[1]!;
  const a = new SimAgent('a1');
  // Its claim waits in c2's unanswered report; c2 sheds its agents after three election timeouts.
  c2.unheardByLeader = true;
  a.connect(c2);
  settle(cs);
  const since = clock.now;
  while (a.closedWith === null && clock.now - since < 10_000) advance(clock, cs, 50);
  t.match(a.closedWith, { code: 'unavailable', reason: /not heard by the leader/ }, 'c2 shed the agent');
  a.controller = null;
  // Heard again once its departure has come due (with no record to end then): the claim
  // commits after the agent has gone; no stream opens on c2 again.
  advance(clock, cs, 3000);
  t.equal(c2.record('a1'), null, 'no record while the claim waits');
  c2.unheardByLeader = false;
  advance(clock, cs, 500);
  // The departure waited for the claim and went right after it (before, the record stayed online
  // until c2's next reconcile round and another grace, then went offline "not connected to c2").
  t.match(c2.record('a1'), { controller: 'c2', online: false, statusReason: /not heard by the leader/ }, 'the late claim made the record; its departure took it offline at once, saying why it left');
  t.same(
    c2.audits.filter((e) => e.type === 'agent.status' && e.subject === 'a1').map((e) => `${e.from}->${e.to}`),
    ['null->online', 'online->offline'],
  );
  advance(clock, cs, 8000);
  t.match(c2.record('a1'), { online: false }, 'and stays offline');
});

void t.test("a restarted agent's old connection whose claim never committed before, claimed late by a controller the leader did not hear, does not take the agent from its new process", async (t) => {
  // Agents simulation, seed 5301219: the superseded fence saw nothing, as no claim of the old
  // process had ever committed; the order of admission does.
  for (const version of [CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION]) {
    const ordered = version === CLAIM_ORDER_VERSION;
    const { clock, cs } = stage(2, version);
    const [c1, c2] = cs as [SimController, SimController];
    c2.unheardByLeader = true;
    const old = new SimAgent('a1', ['http', 'tcp'], 'old-process');
    old.connect(c2);
    settle(cs);
    old.disconnect();
    advance(clock, cs, 200);
    const fresh = new SimAgent('a1', ['http', 'tcp'], 'new-process');
    fresh.connect(c1);
    settle(cs);
    t.match(c1.record('a1'), { controller: 'c1', session: fresh.session, online: true }, 'the new process holds the agent');
    t.equal(c1.sm.view(agentsKind).supersededBoot('a1'), null, 'no process was replaced: the superseded fence knows nothing');
    c2.unheardByLeader = false;
    advance(clock, cs, 4000);
    if (ordered) {
      t.equal(fresh.closedWith, null, "at the level, the old stream's late claim loses: the live stream stays");
      t.match(c1.record('a1'), { controller: 'c1', session: fresh.session, online: true }, 'and the record names it');
      t.equal(offlineAudits(c1, 'a1'), 0, 'never shown offline');
    } else {
      t.match(fresh.closedWith, { code: 'aborted', reason: /taken over/ }, 'below the level, replicas decide as 0.9 did: the late claim takes the agent');
    }
  }
});

void t.test('of two live processes with one id, the one whose stream was admitted first is refused once its late claim loses', async (t) => {
  const { clock, cs } = stage(2, CLAIM_ORDER_VERSION);
  const [c1, c2] = cs as [SimController, SimController];
  c1.unheardByLeader = true;
  const first = new SimAgent('a1', ['http', 'tcp'], 'first-process');
  first.connect(c1);
  settle(cs);
  advance(clock, cs, 200);
  const second = new SimAgent('a1', ['http', 'tcp'], 'second-process');
  second.connect(c2);
  settle(cs);
  c1.unheardByLeader = false;
  advance(clock, cs, 5000);
  t.equal(second.closedWith, null, 'the stream admitted last keeps the agent');
  t.match(c1.record('a1'), { controller: 'c2', session: second.session, online: true });
  t.match(first.closedWith, { code: 'aborted', reason: /two processes run with one agent id/ }, 'the first is refused, not left claiming again every round');
});

void t.test("a claim of a stream its controller no longer serves is not sent, at any level: a departed process's claim held in a report takes nothing from its successor", async (t) => {
  // Agents simulation --lossy --skew 1000, seeds 265 and 510 (and --lossy seed 337 around a
  // raise): the old process's claim waited in the report of a controller that heard no leader,
  // its stream closed meanwhile, and it committed after the new process's claim. Ordered by
  // clocks far apart, or not ordered at all, it took the agent, and the new process was refused
  // as a second one until the stale record went offline.
  for (const version of [null, CLAIM_ORDER_VERSION]) {
    const { log, clock, cs } = stage(2, version);
    const [c1, c2] = cs as [SimController, SimController];
    const old = new SimAgent('a1', ['http', 'tcp'], 'old-process');
    old.connect(c1);
    settle(cs);
    // It moves to c2, whose reports wait; it is pushed a change there, then its process ends.
    c2.reportsHeld = true;
    old.disconnect();
    old.connect(c2);
    settle(cs);
    log.propose(applyCmd(svc('api')));
    advance(clock, cs, 100);
    // The report in flight holds the claim (and the push); a retry asks again what to send.
    const inFlight = c2.hub.takeReport(clock.now) ?? [];
    t.match(inFlight, [{ op: 'connect', id: 'a1', session: old.session, pushes: 1 }], `${version}: c2's claim is in the report in flight, with its push`);
    old.disconnect();
    advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
    const fresh = new SimAgent('a1', ['http', 'tcp'], 'new-process');
    fresh.connect(c1);
    settle(cs);
    t.match(c1.record('a1'), { controller: 'c1', session: fresh.session, online: true }, `${version}: the new process holds the agent`);
    const retried = c2.hub.recheckOffline(inFlight);
    t.match(retried, [{ op: 'sync', id: 'a1', session: old.session, pushes: 1 }], `${version}: sent again, the claim of the stream gone from c2 is left out; its push still counts`);
    log.propose({ kind: 'agents', op: 'report', controller: 'c2', entries: retried } as KindCommand);
    c2.hub.reportCommitted(retried);
    c2.reportsHeld = false;
    advance(clock, cs, 4000);
    t.equal(fresh.closedWith, null, `${version}: the live stream stays`);
    t.match(c1.record('a1'), { controller: 'c1', session: fresh.session, online: true }, `${version}: and the record names it`);
    t.equal(offlineAudits(c1, 'a1'), 0, `${version}: never shown offline`);
    t.equal(c1.record('a1')!.pushes, old.received.length + fresh.received.length, `${version}: every push counted`);
  }
});

void t.test('a claim still pending when its stream closes is not sent either, unless the agent has no record yet', async (t) => {
  const { clock, cs } = stage(2, CLAIM_ORDER_VERSION);
  const [c1, c2] = cs as [SimController, SimController];
  const first = new SimAgent('a1', ['http', 'tcp'], 'first');
  c2.reportsHeld = true;
  first.connect(c2);
  settle(cs);
  first.disconnect();
  settle(cs);
  c2.reportsHeld = false;
  settle(cs);
  t.match(c1.record('a1'), { controller: 'c2', session: first.session }, 'no record yet: the claim makes one, as before');
  const holder = new SimAgent('a1', ['http', 'tcp'], 'holder');
  holder.connect(c1);
  settle(cs);
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  c2.reportsHeld = true;
  const gone = new SimAgent('a1', ['http', 'tcp'], 'gone');
  gone.connect(c2);
  settle(cs);
  gone.disconnect();
  settle(cs);
  c2.reportsHeld = false;
  advance(clock, cs, 2000);
  t.match(c1.record('a1'), { controller: 'c1', session: holder.session, online: true }, 'the claim of the stream gone from c2 never reached the log');
  t.equal(holder.closedWith, null);
});
