/**
 * Endpoint damping through the deterministic hub (attack round 10, A8): an agent that joins an
 * operator's services and then connects and disconnects in a loop made a revision and a push to
 * every agent that is not lazy per transition. Its endpoints are now held unhealthy once it
 * flaps, until it stays online for the hold; an agent with an outage now and then is never held.
 */
import t from 'tap';
import { meshKind, type ServiceResource } from '../../src/statemachine/index.js';
import { defaultSettings } from '../../src/settings/index.js';
import { settingsToJson } from '../../src/statemachine/settings.js';
import { DAMP_HOLD_MS, DAMP_OUTAGES, DAMP_WINDOW_MS } from '../../src/agents/endpoint-damping.js';
import { SimAgent, SimController, SimLog, advance, applyCmd, host, settle, svc } from './hub-harness.js';

function stage(): { log: SimLog; clock: { now: number }; cs: SimController[]; fleet: SimAgent[] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  log.propose({ kind: 'settings', op: 'init', values: settingsToJson(defaultSettings({ electionTimeoutMs: 1000 })) } as never);
  const cs = [new SimController('c1', log, clock), new SimController('c2', log, clock)];
  cs[0]!.leading = true;
  for (const c of cs) c.tick();
  settle(cs);
  // The operator's services, and two agents that get everything (not lazy).
  log.propose(applyCmd(svc('web'), svc('db', 'tcp')));
  settle(cs);
  const fleet = [new SimAgent('a1'), new SimAgent('a2')];
  fleet[0]!.connect(cs[0]!);
  fleet[1]!.connect(cs[1]!);
  settle(cs);
  return { log, clock, cs, fleet };
}

const endpoints = (c: SimController, name: string): unknown => (c.sm.view(meshKind).get('service', name) as ServiceResource | null)?.status.endpoints;
const healthOf = (c: SimController, name: string, agent: string): boolean | undefined =>
  (c.sm.view(meshKind).get('service', name) as ServiceResource | null)?.status.endpoints?.find((e) => e.agent === agent)?.healthy;
/** Joins the operator's services with their spec and labels, as agents.md allows. */
const joiner = (): SimAgent => new SimAgent('a6', ['http', 'tcp'], 'a6-boot', { hosts: [host('web'), host('db', 'tcp')] });

/** One cycle: up for `upMs`, then gone for `downMs` (beyond its timeout and grace: an outage). */
function cycle(a: SimAgent, c: SimController, clock: { now: number }, cs: SimController[], upMs = 3000, downMs = 5000): void {
  a.connect(c);
  advance(clock, cs, upMs);
  a.disconnect();
  advance(clock, cs, downMs);
}

void t.test('an agent flapping on operators\' services: a revision and a fleet-wide push per transition only until it is held', async (t) => {
  const { clock, cs, fleet } = stage();
  const a6 = joiner();
  const perCycle: { pushes: number; revisions: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const pushes = fleet[0]!.received.length;
    const revision = cs[0]!.sm.revision();
    cycle(a6, cs[1]!, clock, cs);
    perCycle.push({ pushes: fleet[0]!.received.length - pushes, revisions: cs[0]!.sm.revision() - revision });
  }
  // The first cycle joins (one revision) and goes offline (one); each of the next two comes back and goes.
  t.same(perCycle.slice(0, DAMP_OUTAGES), [{ pushes: 2, revisions: 2 }, { pushes: 2, revisions: 2 }, { pushes: 2, revisions: 2 }], 'until the third outage: as before');
  t.same(perCycle.slice(DAMP_OUTAGES), Array(8 - DAMP_OUTAGES).fill({ pushes: 0, revisions: 0 }), 'then no revision and no push per cycle');
  t.equal(fleet[1]!.received.length, fleet[0]!.received.length, 'the agent on the other controller alike');
  t.equal(cs[0]!.hub.endpointHolds, 1, 'one hold, counted on the leader');
  t.equal(cs[1]!.hub.endpointHolds, 0, 'a follower decides nothing');
  t.equal(cs[0]!.logs.filter((m) => m.includes('endpoints flap')).length, 1, 'logged once');

  // Back for good: held unhealthy for the hold, then healthy again in one revision.
  a6.connect(cs[1]!);
  advance(clock, cs, 1000);
  t.match(cs[0]!.record('a6'), { online: true });
  t.same(endpoints(cs[0]!, 'web'), [{ agent: 'a6', healthy: false }], 'online, but held unhealthy');
  t.equal(cs[0]!.hub.endpointsHeld, 1);
  const pushes = fleet[0]!.received.length;
  const revision = cs[0]!.sm.revision();
  advance(clock, cs, DAMP_HOLD_MS - 2000, 250);
  t.same(endpoints(cs[0]!, 'web'), [{ agent: 'a6', healthy: false }], 'still held just before the hold ends');
  advance(clock, cs, 2000, 250);
  t.same(endpoints(cs[0]!, 'web'), [{ agent: 'a6', healthy: true }], 'healthy once it stayed online for the hold');
  t.same(endpoints(cs[1]!, 'db'), [{ agent: 'a6', healthy: true }], 'on every controller, every service it hosts');
  t.equal(cs[0]!.sm.revision() - revision, 1, 'one revision');
  t.equal(fleet[0]!.received.length - pushes, 1, 'one push');
  t.equal(cs[0]!.hub.endpointsHeld, 0);
  t.ok(cs[0]!.logs.some((m) => m.includes('healthy again')), 'the release logged');

  // Flapping again at once: its outages are still within the window, so the next return is held.
  const before = cs[0]!.sm.revision();
  for (let i = 0; i < 3; i++) cycle(a6, cs[1]!, clock, cs);
  t.equal(cs[0]!.sm.revision() - before, 1, 'its next outage is shown (one revision), its returns are not');
  t.equal(cs[0]!.hub.endpointHolds, 2);
});

void t.test('an agent with an outage now and then, or restarting within its grace, is never held; one flapping beside it is', async (t) => {
  const { clock, cs } = stage();
  const a6 = joiner();
  for (let i = 0; i < DAMP_OUTAGES + 1; i++) cycle(a6, cs[1]!, clock, cs);
  a6.connect(cs[1]!);
  const a7 = new SimAgent('a7', ['http', 'tcp'], 'a7-boot', { hosts: [host('web')] });
  a7.connect(cs[0]!);
  advance(clock, cs, 2000);
  t.equal(healthOf(cs[0]!, 'web', 'a6'), false, 'the flapper is held');
  t.equal(healthOf(cs[0]!, 'web', 'a7'), true);
  // Restarts within the grace are no outage at all.
  for (let i = 0; i < 10; i++) {
    a7.disconnect();
    advance(clock, cs, 100);
    a7.connect(cs[(i + 1) % 2]!);
    advance(clock, cs, 1500);
    t.equal(healthOf(cs[0]!, 'web', 'a7'), true, `quick restart ${i + 1}: healthy throughout`);
  }
  // Outages spaced so that DAMP_OUTAGES of them never fall within the window.
  for (let i = 0; i < 6; i++) {
    advance(clock, cs, DAMP_WINDOW_MS / (DAMP_OUTAGES - 1), 250);
    a7.disconnect();
    advance(clock, cs, 5000);
    t.equal(healthOf(cs[0]!, 'web', 'a7'), false, `outage ${i + 1}: unhealthy`);
    a7.connect(cs[i % 2]!);
    advance(clock, cs, 1000);
    t.equal(healthOf(cs[0]!, 'web', 'a7'), true, `return ${i + 1}: healthy at once`);
  }
  t.equal(cs[0]!.hub.endpointHolds, 1, 'only the flapper was ever held');
});

void t.test('a new leader starts without history: a held agent online is healthy again at once', async (t) => {
  const { clock, cs } = stage();
  const a6 = joiner();
  for (let i = 0; i < DAMP_OUTAGES; i++) cycle(a6, cs[1]!, clock, cs);
  a6.connect(cs[1]!);
  advance(clock, cs, 1000);
  t.same(endpoints(cs[0]!, 'web'), [{ agent: 'a6', healthy: false }], 'held by c1');
  cs[0]!.leading = false;
  cs[1]!.leading = true;
  advance(clock, cs, 1000);
  t.same(endpoints(cs[0]!, 'web'), [{ agent: 'a6', healthy: true }], 'c2 leads and has seen no flap');
  t.equal(cs[0]!.hub.endpointsHeld, 0, 'c1 dropped its holds with its term');
});
