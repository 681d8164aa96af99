/**
 * Cluster version 0.8 on the deterministic hub: an agent certificate that publishes new names at
 * each connection holds at most MAX_SERVICES_PER_AGENT services (publisher-shares.ts); past it
 * the serving controller warns and counts once per stream (agents_publishes_over_agent_share_total),
 * every controller audits `service.publish.refused`, and `ctl list agents` names the refused
 * service with the reason, as for the agents' other refusals. Another agent still gets a VIP.
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

void t.test('at 0.8 an agent rotating service names is refused past its share: warned, counted, audited and listed; another agent is not', async (t) => {
  const log = new SimLog();
  const clock = { now: 1_700_000_000_000 };
  const cs = ['c1', 'c2'].map((id) => new SimController(id, log, clock)) as [SimController, SimController];
  cs[0].leading = true;
  log.propose(clusterVersion('0.8'));
  for (const c of cs) c.tick();
  settle(cs);
  // Each connection lists 256 new names (the ones before stay through the leader's 10-minute grace).
  let rogue: SimAgent | null = null;
  for (let set = 0; set <= MAX_SERVICES_PER_AGENT / PER_PUBLISH; set++) {
    rogue?.disconnect();
    const hosts = set * PER_PUBLISH < MAX_SERVICES_PER_AGENT ? Array.from({ length: PER_PUBLISH }, (_, i) => host(`s${set}-${i}`)) : [host('extra')];
    rogue = new SimAgent('rogue', ['http'], `rogue-boot-${set}`, { hosts });
    rogue.connect(cs[1]);
    advance(clock, cs, 31_000); // past the publish damping's window (3 changes per 30 s)
  }
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
