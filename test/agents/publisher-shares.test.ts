/**
 * Cluster version 0.8 on the deterministic hub: an agent certificate that publishes new names at
 * each connection holds at most MAX_SERVICES_PER_AGENT services (publisher-shares.ts); past it
 * the serving controller warns and counts once per stream (agents_publishes_over_agent_share_total),
 * every controller audits `service.publish.refused`, and `ctl list agents` names the refused
 * service with the reason, as for the agents' other refusals. Another agent still gets a VIP.
 * From 0.9 (LISTER_SHARE_VERSION) a join past the share takes the same path.
 */
import t from 'tap';
import { MAX_SERVICES_PER_AGENT, meshKind, type ServiceResource } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, advance, host, settle } from './hub-harness.js';
import { clusterVersion } from '../statemachine/mesh-helpers.js';

const PER_PUBLISH = 256;

function svcOf(c: SimController, name: string): ServiceResource | null {
  const r = c.sm.view(meshKind).get('service', name);
  return r?.kind === 'service' ? r : null;
}

/** Two controllers at cluster version `version`, c1 leading. */
function stage(version: string): { clock: { now: number }; cs: [SimController, SimController] } {
  const log = new SimLog();
  const clock = { now: 1_700_000_000_000 };
  const cs = ['c1', 'c2'].map((id) => new SimController(id, log, clock)) as [SimController, SimController];
  cs[0].leading = true;
  log.propose(clusterVersion(version));
  for (const c of cs) c.tick();
  settle(cs);
  return { clock, cs };
}

/** `id` connects to `c` once per set of hosts, each past the publish damping's window; returns the last connection. */
function connectEach(id: string, sets: readonly (readonly string[])[], c: SimController, clock: { now: number }, cs: readonly SimController[]): SimAgent {
  let agent: SimAgent | null = null;
  for (const [i, names] of sets.entries()) {
    agent?.disconnect();
    agent = new SimAgent(id, ['http'], `${id}-boot-${i}`, { hosts: names.map((n) => host(n)) });
    agent.connect(c);
    advance(clock, cs, 31_000); // past the publish damping's window (3 changes per 30 s)
  }
  return agent!;
}

void t.test('at 0.8 an agent rotating service names is refused past its share: warned, counted, audited and listed; another agent is not', async (t) => {
  const { clock, cs } = stage('0.8');
  // Each connection lists 256 new names (the ones before stay through the leader's 10-minute grace).
  const sets = Array.from({ length: MAX_SERVICES_PER_AGENT / PER_PUBLISH }, (_, set) => Array.from({ length: PER_PUBLISH }, (_, i) => `s${set}-${i}`));
  connectEach('rogue', [...sets, ['extra']], cs[1], clock, cs);
  t.ok(svcOf(cs[0], 's3-255')?.status.vip, 'its first 1,024 names got VIPs');
  t.equal(svcOf(cs[0], 'extra'), null, 'the next one is refused: no service, no VIP');
  t.equal(cs[1].hub.counters.publishesOverShare, 1, 'counted once on its stream');
  t.ok(cs[1].logs.includes('agent publishes services the cluster refuses'), 'the serving controller warns');
  const reason = /^agent "rogue" holds 1024 services by its publishes .* at most 1024/;
  t.match(cs[0].audits.filter((a) => a.type === 'service.publish.refused'), [{ subject: 'extra', to: 'rogue', reason: /^agent rogue: agent "rogue" holds 1024 services/ }]);
  t.match(cs[1].hub.live(clock.now).find((r) => r.id === 'rogue')?.publish, { refusedHosts: [{ name: 'extra', reason }], held: null }, 'list agents names it and why');
  const honest = new SimAgent('honest', ['http'], 'honest-boot', { hosts: [host('web')] });
  honest.connect(cs[0]);
  advance(clock, cs, 1_000);
  t.ok(svcOf(cs[0], 'web')?.status.vip, "another agent's new service gets a VIP");
  t.equal(cs[0].hub.counters.publishesOverShare, 0);
});

void t.test("from 0.9 an agent at its share is refused joining another agent's service: warned, counted, audited and listed saying so", async (t) => {
  const { clock, cs } = stage('0.9');
  connectEach('honest', [['web']], cs[0], clock, cs);
  const sets = Array.from({ length: MAX_SERVICES_PER_AGENT / PER_PUBLISH }, (_, set) => Array.from({ length: PER_PUBLISH }, (_, i) => `s${set}-${i}`));
  connectEach('rogue', [...sets, ['web']], cs[1], clock, cs);
  t.ok(svcOf(cs[0], 's3-255')?.status.vip, 'its own 1,024 services exist (unlisted, within the grace)');
  t.same(svcOf(cs[0], 'web')?.status.endpoints?.map((e) => e.agent), ['honest'], 'the join is refused');
  t.equal(cs[1].hub.counters.publishesOverShare, 1, 'counted once on its stream');
  t.ok(cs[1].logs.includes('agent publishes services the cluster refuses'), 'the serving controller warns');
  const reason = /^agent "rogue" holds 1024 services by its publishes .* at most 1024: joining an agents' service is refused/;
  t.match(cs[0].audits.filter((a) => a.type === 'service.publish.refused'), [{ subject: 'web', to: 'rogue', reason: /^agent rogue: agent "rogue" holds 1024 services .*joining an agents' service is refused/ }]);
  t.match(cs[1].hub.live(clock.now).find((r) => r.id === 'rogue')?.publish, { refusedHosts: [{ name: 'web', reason }] }, 'list agents names it and why');
});
