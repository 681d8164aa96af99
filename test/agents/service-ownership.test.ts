/**
 * Cluster version 0.7 on the deterministic hub: an agent is refused on an operator's service it
 * is not allowed to serve (logged, counted, audited; its own services still go through), and the
 * leader expires an agents' service no agent lists after its grace, on its own clock, re-checked
 * at apply: a service listed again within the grace keeps its VIP, and a new leader starts the
 * grace afresh (an expiry comes later, never sooner). At 0.12 with services.agent_publish
 * declared, a service no operator applied is refused the same way (counted apart).
 */
import t, { type Test } from 'tap';
import { LeaderDuties } from '../../src/agents/mesh-duties.js';
import { MeshReportQueue } from '../../src/agents/mesh-reports.js';
import { ALLOWED_AGENTS_LABEL, StateMachine, agentsKind, clusterKind, meshKind, settingsKind, type ServiceResource } from '../../src/statemachine/index.js';
import { SimAgent, SimController, advance, host, meshStage, settle } from './hub-harness.js';
import { apply, claim, cluster, clusterVersion, del, initSettings, publishOf, report, run, service, setSetting } from '../statemachine/mesh-helpers.js';

const GRACE_MS = 30_000;
/** The leader sweeps every 10 s (mesh-duties.ts): an expiry comes within grace + one sweep. */
const SWEEP_MS = 10_000;

const stage = (version: string): ReturnType<typeof meshStage> => meshStage(version, GRACE_MS, (now) => [apply(now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' }))]);

function svcOf(c: SimController, name: string): ServiceResource | null {
  const r = c.sm.view(meshKind).get('service', name);
  return r?.kind === 'service' ? r : null;
}

void t.test("at 0.7 an agent not allowed on an operator's service is refused for it: a warning and a count per stream, an audit; its own service goes through", async (t) => {
  const { clock, cs } = stage('0.7');
  const rogue = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: [host('web'), host('own')] });
  rogue.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.equal(svcOf(cs[0], 'web')?.status.endpoints, undefined, 'no endpoint on the operator\'s web');
  t.same(svcOf(cs[0], 'own')?.status.endpoints, [{ agent: 'rogue', healthy: true }]);
  t.equal(cs[1].hub.counters.publishesNotAllowed, 1);
  t.ok(cs[1].logs.includes('agent publishes services the cluster refuses'), 'the serving controller warns');
  t.match(cs[0].audits.filter((a) => a.type === 'service.publish.refused'), [{ subject: 'web', to: 'rogue', reason: /^agent rogue: applied by an operator, which does not allow agent "rogue"/ }]);
  const allowed = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [host('web')] });
  allowed.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'an allowed agent joins');
  const revision = cs[0].sm.revision();
  rogue.disconnect();
  rogue.connect(cs[0]);
  advance(clock, cs, 1_000);
  t.equal(cs[0].hub.counters.publishesNotAllowed, 1, 'counted again on its new stream');
  t.equal(svcOf(cs[0], 'web')?.status.endpoints?.length, 1);
  t.ok(cs[0].sm.revision() - revision <= 2, 'its reconnect proposes no publish (its health may change)');
});

void t.test("at 0.12 with services.agent_publish declared a squatter creates nothing: a warning, a count and an audit; list agents says why; an allowed agent still joins", async (t) => {
  const { clock, cs } = meshStage('0.12', GRACE_MS, (now) => [initSettings(), setSetting('services.agent_publish', 'declared'), apply(now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' }))]);
  const squatter = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: [host('payments')] });
  squatter.connect(cs[1]);
  const allowed = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [host('web')] });
  allowed.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.equal(svcOf(cs[0], 'payments'), null, 'no service created');
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'the allowed agent joins');
  const why = `no operator declared service "payments" and the cluster's services.agent_publish is "declared" (ctl apply the service, with label "${ALLOWED_AGENTS_LABEL}" naming the agents that may serve it)`;
  t.equal(cs[1].hub.counters.publishesUndeclared, 1, 'counted once on its stream');
  t.equal(cs[1].hub.counters.publishesNotAllowed, 0, 'not counted as an operator\'s service refusing it');
  t.ok(cs[1].logs.includes('agent publishes services the cluster refuses'), 'the serving controller warns');
  t.match(cs[0].audits.filter((a) => a.type === 'service.publish.refused'), [{ subject: 'payments', to: 'rogue', reason: `agent rogue: ${why}` }]);
  t.same(cs[1].hub.live(clock.now).find((r) => r.id === 'rogue')?.publish, { refusedHosts: [{ name: 'payments', reason: why }], held: null }, 'ctl list agents -o wide names it under REFUSED');
});

void t.test('at 0.12 with services.agent_publish declared a later refusal on the same stream is counted, warned of and audited once: another service, or the one an operator deleted', async (t) => {
  const { log, clock, cs } = meshStage('0.12', GRACE_MS, (now) => [initSettings(), setSetting('services.agent_publish', 'declared'), apply(now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' }))]);
  const agent = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [host('web'), host('payments')] });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  const warnings = (): number => cs[1].logs.filter((l) => l === 'agent publishes services the cluster refuses').length;
  const refusalsOf = (c: SimController, name: string): number => c.audits.filter((a) => a.type === 'service.publish.refused' && a.subject === name).length;
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'it serves web');
  t.equal(cs[1].hub.counters.publishesUndeclared, 1, 'payments refused, counted');
  t.equal(warnings(), 1);
  t.equal(refusalsOf(cs[1], 'payments'), 1, 'audited by the commit of its publish');
  advance(clock, cs, 10_000);
  t.equal(cs[1].hub.counters.publishesUndeclared, 1, 'the same refusal at every reconcile round is not counted again');
  t.equal(warnings(), 1, 'nor warned of again');
  t.equal(refusalsOf(cs[1], 'payments'), 1, 'nor audited again');
  log.propose(del(clock.now, 'service', 'web'));
  advance(clock, cs, 3_000);
  t.equal(cs[1].hub.counters.publishesUndeclared, 2, 'web, deleted by the operator, is now refused on the same stream: counted');
  t.equal(warnings(), 2, 'warned of');
  t.match(cs[1].audits.filter((a) => a.type === 'service.publish.refused' && a.subject === 'web'), [{ to: 'web-1', reason: /^agent web-1: no operator declared service "web"/ }], 'and audited by the controller serving the agent');
  t.same(cs[1].hub.live(clock.now).find((r) => r.id === 'web-1')?.publish?.refusedHosts.map((h) => h.name).sort(), ['payments', 'web'], 'list agents names both');
  advance(clock, cs, 10_000);
  t.equal(cs[1].hub.counters.publishesUndeclared, 2, 'once');
  t.equal(warnings(), 2, 'once');
  t.equal(refusalsOf(cs[1], 'web'), 1, 'once');
  log.propose(apply(clock.now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' })));
  advance(clock, cs, 3_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'declared again: it joins on the same stream');
  log.propose(del(clock.now, 'service', 'web'));
  advance(clock, cs, 3_000);
  t.equal(cs[1].hub.counters.publishesUndeclared, 3, 'refused again after it was served: a new refusal, counted');
  t.equal(warnings(), 3, 'warned of');
  t.equal(refusalsOf(cs[1], 'web'), 2, 'audited');
  t.equal(agent.controller, cs[1], 'it never reconnected');
  const audited = cs[1].audits.length;
  agent.disconnect();
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.equal(cs[1].hub.counters.publishesUndeclared, 5, 'its reconnect is a new publish: both refusals counted');
  t.equal(warnings(), 3, 'but the same refusals are not warned of again');
  t.equal(cs[1].audits.filter((a, i) => i >= audited && a.type === 'service.publish.refused').length, 0, 'nor audited');
});

void t.test('at 0.12 with services.agent_publish declared what a controller remembers of refusals is bounded by what agents list now: an agent cycling through names it may not publish grows no controller', async (t) => {
  const { clock, cs } = meshStage('0.12', GRACE_MS, () => [initSettings(), setSetting('services.agent_publish', 'declared')]);
  const rogue = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: [] });
  const names = 5;
  for (let round = 0; round < 12; round++) {
    rogue.decl = { ...rogue.decl, hosts: Array.from({ length: names }, (_, i) => host(`squat-${round}-${i}`)) };
    rogue.connect(cs[1]);
    // Past the allowance of changes through a controller (3 per 30 s): each round's publish goes.
    advance(clock, cs, 11_000);
    rogue.disconnect();
    advance(clock, cs, 1_000);
  }
  t.equal(cs[1].hub.counters.publishesUndeclared, 12 * names, 'every round refused, counted');
  t.equal(cs[0].audits.filter((a) => a.type === 'service.publish.refused').length, 12 * names, 'and audited by the commits');
  for (const c of cs) t.ok(c.hub.refusalsRemembered <= names, `${c.id} remembers the refusals of what the agent lists now, not of every name it ever listed (${c.hub.refusalsRemembered})`);
});

void t.test('at 0.12 with services.agent_publish declared a squatter an operator took off, refused again when the operator deletes the service, is warned of and audited for the new reason', async (t) => {
  const { log, clock, cs } = meshStage('0.12', GRACE_MS, () => [initSettings()]);
  const rogue = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: [host('payments')] });
  rogue.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.same(svcOf(cs[0], 'payments')?.status.endpoints, [{ agent: 'rogue', healthy: true }], 'open: the squatter created payments');
  log.propose(setSetting('services.agent_publish', 'declared'));
  log.propose(apply(clock.now, service('payments', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'payments-*' })));
  advance(clock, cs, 3_000);
  t.same(svcOf(cs[0], 'payments')?.status.endpoints ?? [], [], "the operator's write took it off");
  const refusals = (): { reason: string }[] => cs[1].audits.filter((a) => a.type === 'service.publish.refused' && a.subject === 'payments');
  t.match(refusals(), [{ reason: /taken off the service's endpoints/ }], 'audited by the commit');
  const warnings = cs[1].logs.filter((l) => l === 'agent publishes services the cluster refuses').length;
  log.propose(del(clock.now, 'service', 'payments'));
  advance(clock, cs, 3_000);
  t.equal(svcOf(cs[0], 'payments'), null, 'deleted');
  t.match(refusals(), [{ reason: /taken off/ }, { reason: /^agent rogue: no operator declared service "payments"/ }], 'the refusal for the new reason is audited by the serving controller');
  t.equal(cs[1].logs.filter((l) => l === 'agent publishes services the cluster refuses').length, warnings + 1, 'and warned of');
});

void t.test('at 0.12 with services.agent_publish declared an agent refused nothing before is looked at again when an operator deletes a service it lists: warned of and audited on the same stream', async (t) => {
  const { log, clock, cs } = meshStage('0.12', GRACE_MS, (now) => [initSettings(), setSetting('services.agent_publish', 'declared'), apply(now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' }))]);
  const agent = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [host('web')] });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'it serves web, refused nothing');
  log.propose(del(clock.now, 'service', 'web'));
  advance(clock, cs, 3_000);
  t.equal(cs[1].hub.counters.publishesUndeclared, 1, 'refused now: counted');
  t.match(cs[1].audits.filter((a) => a.type === 'service.publish.refused'), [{ subject: 'web', to: 'web-1', reason: /^agent web-1: no operator declared service "web"/ }], 'and audited within a state_sync_interval');
  t.equal(agent.controller, cs[1], 'without reconnecting');
});

void t.test('at 0.12 with services.agent_publish open (the default) the same agent creates its service, as at 0.11', async (t) => {
  const { clock, cs } = meshStage('0.12', GRACE_MS);
  const agent = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: [host('payments')] });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.same(svcOf(cs[0], 'payments')?.status.endpoints, [{ agent: 'rogue', healthy: true }]);
  t.equal(cs[1].hub.counters.publishesUndeclared, 0);
});

void t.test("an agent an operator's write took off its service joins again, without reconnecting, once a later write allows it", async (t) => {
  // Found by the agents' simulation (agents-sim.ts, hosting seeds): the serving controller looked
  // again only at hosts it had seen refused, so the agent stayed off until it reconnected.
  const { log, clock, cs } = stage('0.7');
  const agent = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [host('web')] });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'allowed: it joins');
  log.propose(apply(clock.now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-2' })));
  advance(clock, cs, 3_000);
  t.equal(svcOf(cs[0], 'web')?.status.endpoints, undefined, 'taken off by the write that no longer allows it');
  log.propose(apply(clock.now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' })));
  // The serving controller looks again at its next reconcile round (state_sync_interval, 2 s).
  advance(clock, cs, 3_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'allowed again: back on the same stream');
  t.equal(agent.controller, cs[1], 'it never reconnected');
});

void t.test('at 0.6 the same agent joins, as 0.6.0 members decide', async (t) => {
  const { clock, cs } = stage('0.6');
  const rogue = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: [host('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' })] });
  rogue.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'rogue', healthy: true }]);
  t.equal(cs[1].hub.counters.publishesNotAllowed, 0);
});

void t.test('the leader expires a service no agent lists after its grace; a new leader starts the grace afresh', async (t) => {
  const { clock, cs } = stage('0.7');
  const a = new SimAgent('a1', ['http'], 'a1-boot', { hosts: [host('api'), host('db')] });
  a.connect(cs[1]);
  advance(clock, cs, 1_000);
  const vip = svcOf(cs[0], 'api')?.status.vip;
  t.ok(vip !== undefined);
  // A restart with the same agent.yaml (offline, back) is no unlisting at all.
  a.disconnect();
  advance(clock, cs, 3_000);
  a.connect(cs[0]);
  advance(clock, cs, GRACE_MS + 2 * SWEEP_MS, 250);
  t.equal(svcOf(cs[0], 'api')?.status.vip, vip, 'kept across a reconnect');
  // Its agent.yaml no longer lists api.
  a.disconnect();
  a.decl = { ...a.decl, hosts: [host('db')] };
  a.connect(cs[0]);
  advance(clock, cs, 1_000);
  t.same(cs[0].sm.view(meshKind).unlistedPublished('declarations'), ['api']);
  advance(clock, cs, GRACE_MS / 2, 250);
  // Leadership moves: c2 has never seen api unlisted, so it waits its own whole grace.
  cs[0].leading = false;
  cs[1].leading = true;
  const movedAt = clock.now;
  while (svcOf(cs[1], 'api') !== null && clock.now - movedAt < GRACE_MS + 3 * SWEEP_MS) advance(clock, cs, 250, 250);
  const after = clock.now - movedAt;
  t.equal(svcOf(cs[1], 'api'), null, 'expired');
  t.ok(after >= GRACE_MS && after <= GRACE_MS + SWEEP_MS + 1_000, `a whole grace after the new leader first saw it (${after} ms)`);
  t.equal(svcOf(cs[1], 'db')?.status.vip !== undefined, true, 'the listed one stays');
  t.match(cs[1].audits.filter((e) => e.type === 'service.vip.released'), [{ subject: 'api', from: vip, reason: /^service expired: agents published it and none lists it any more; the address is quarantined/ }]);
  t.same(cs[0].sm.snapshot(), cs[1].sm.snapshot(), 'both controllers hold the same state');
});

void t.test('a service listed again within the grace (moved to another agent by a rolling change) keeps its VIP', async (t) => {
  const { clock, cs } = stage('0.7');
  const a = new SimAgent('a1', ['http'], 'a1-boot', { hosts: [host('api')] });
  a.connect(cs[1]);
  advance(clock, cs, 1_000);
  const vip = svcOf(cs[0], 'api')?.status.vip;
  a.disconnect();
  a.decl = { ...a.decl, hosts: [] };
  a.connect(cs[1]);
  advance(clock, cs, GRACE_MS / 2, 250);
  t.same(cs[0].sm.view(meshKind).unlistedPublished('declarations'), ['api']);
  const b = new SimAgent('a2', ['http'], 'a2-boot', { hosts: [host('api')] });
  b.connect(cs[0]);
  advance(clock, cs, 2 * GRACE_MS + 2 * SWEEP_MS, 250);
  t.match(svcOf(cs[0], 'api'), { status: { vip, endpoints: [{ agent: 'a2', healthy: true }] } }, 'the same VIP, never expired');
  t.equal(cs[0].audits.filter((e) => e.type === 'service.vip.released').length, 0);
});

/** The leader's expiry duties over `sm`'s state: `checkAt(now)` sweeps, what it asks for goes to `queue`. */
function leaderSweeps(sm: StateMachine): { queue: MeshReportQueue; checkAt: (now: number) => void } {
  const state = () => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), cluster: sm.view(clusterKind), revision: sm.revision() });
  const duties = new LeaderDuties(GRACE_MS);
  const queue = new MeshReportQueue('c1');
  return { queue, checkAt: (now) => duties.check(state(), now, queue, now, []) };
}

void t.test('a service listed again and dropped between two sweeps gets a whole grace from the second drop', async (t) => {
  // Found by the agents' simulation (agents-sim.ts, hosting seeds): the leader's sweep, 10 s apart,
  // never saw the listing in between and expired the service at once, its grace counted from before.
  const sm: StateMachine = cluster();
  run(sm, clusterVersion('0.7'));
  run(sm, claim('a1', 'a1-s1'));
  run(sm, report(1, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }));
  run(sm, report(2, { publish: [publishOf('a1', 'a1-s1', [])] }));
  const { queue, checkAt } = leaderSweeps(sm);
  checkAt(0);
  run(sm, report(3, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }));
  checkAt(5_000);
  run(sm, report(4, { publish: [publishOf('a1', 'a1-s1', [])] }));
  for (let now = 6_000; now <= GRACE_MS; now += 1_000) checkAt(now);
  t.equal(queue.take(0, 1_000), null, 'not expired a grace after the first drop');
  for (let now = GRACE_MS + 1_000; now <= 6_000 + GRACE_MS + SWEEP_MS; now += 1_000) checkAt(now);
  t.match(queue.take(0, 1_000), { expireServices: ['api'] }, 'expired within a grace and a sweep of the second drop');
});

void t.test('the leader asks for no expiry below 0.7, and a report with none has no expireServices field (0.6.x members refuse it)', async (t) => {
  for (const version of ['0.6', '0.7']) {
    const sm: StateMachine = cluster();
    run(sm, clusterVersion(version));
    run(sm, claim('a1', 'a1-s1'));
    run(sm, report(1, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }));
    run(sm, report(2, { publish: [publishOf('a1', 'a1-s1', [])] }));
    const { queue, checkAt } = leaderSweeps(sm);
    checkAt(0);
    checkAt(GRACE_MS + SWEEP_MS);
    const sent = queue.take(0, 1_000);
    if (version === '0.6') t.equal(sent, null, 'at 0.6: nothing to report');
    else t.match(sent, { expireServices: ['api'] }, 'at 0.7: after the grace');
  }
  const quiet = new MeshReportQueue('c1');
  quiet.checkHealth('x');
  t.notOk('expireServices' in (quiet.take(0, 1_000) ?? {}), 'no field when nothing expires');
});

/**
 * An agent that republishes in a loop, each publish changing something, with `names` names it
 * may not publish: it alternates serving web (`toggle` 'web') or listing the names at all
 * ('names'). Returns the publish.refused audits each controller wrote and the transitions.
 */
function republishLoop(t: Test, version: string, rounds: number, names: number, toggle: 'web' | 'names'): { audits: number[]; transitions: number; publishes: number } {
  const { clock, cs } = meshStage(version, GRACE_MS, (now) => [initSettings(), setSetting('services.agent_publish', 'declared'), apply(now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' }))]);
  const squats = Array.from({ length: names }, (_, i) => host(`squat-${i}`));
  const agent = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [] });
  for (let round = 0; round < rounds; round++) {
    const on = round % 2 === 0;
    agent.decl = { ...agent.decl, hosts: toggle === 'web' ? (on ? [host('web'), ...squats] : squats) : on ? squats : [host('web')] };
    agent.connect(cs[1]);
    // Past the allowance of changes through a controller (3 per 30 s): each round's publish goes.
    advance(clock, cs, 11_000);
    agent.disconnect();
    advance(clock, cs, 1_000);
  }
  const mesh = cs[0].sm.view(meshKind);
  t.same(cs[0].sm.snapshot(), cs[1].sm.snapshot(), `${version}: both controllers hold the same state`);
  return {
    audits: cs.map((c) => c.audits.filter((a) => a.type === 'service.publish.refused').length),
    transitions: mesh.transitionsSince(0).items.filter((x) => x.type === 'publish.refused').length,
    publishes: mesh.declaration('web-1')?.publishWrites ?? 0,
  };
}

void t.test('an agent republishing in a loop with names it may not publish: at 0.13 every publish audits them all again; from 0.14 once', async (t) => {
  const rounds = 8;
  const names = 20;
  const flood = republishLoop(t, '0.13', rounds, names, 'web');
  t.equal(flood.publishes, rounds, `${rounds} publishes committed`);
  t.equal(flood.transitions, rounds * names, 'at 0.13 a publish.refused transition per refused host per publish');
  t.same(flood.audits, [rounds * names, rounds * names], 'audited by every controller each time');
  const once = republishLoop(t, '0.14', rounds, names, 'web');
  t.equal(once.publishes, rounds, 'the same publishes committed at 0.14');
  t.equal(once.transitions, names, 'one transition per refused host');
  t.same(once.audits, [names, names], 'audited once by every controller');
  // Listing the names only every other publish: at 0.14 the record keeps their marks while
  // unlisted, so the log audits them once; the serving controller (c2), which warns of each
  // listing again as a new refusal, audits it too, since the log will not: an agent that lists a
  // name it was refused again, months later maybe, is not left to a warning.
  const toggled = republishLoop(t, '0.14', rounds, names, 'names');
  t.equal(toggled.publishes, rounds);
  t.equal(toggled.transitions, names, 'names listed, dropped and listed again: one transition each');
  t.same(toggled.audits, [names, (rounds / 2) * names], 'audited once by the other controller, at each listing again by the serving one');
  const toggledOld = republishLoop(t, '0.13', rounds, names, 'names');
  t.equal(toggledOld.transitions, (rounds / 2) * names, 'at 0.13 each publish that lists them');
});

/**
 * A publish audits 32 new refusals one by one and the rest in one transition naming the first
 * (refusal-marks.ts). Another controller learned "audited by the log" from each transition's
 * service only, so the agent taking the same publish there had it audit the 7 left unnamed.
 */
void t.test('from 0.14 an agent with 40 refused names that moves to another controller with the same publish is not audited again there', async (t) => {
  const { clock, cs } = meshStage('0.14', GRACE_MS, () => [initSettings(), setSetting('services.agent_publish', 'declared')]);
  const names = 40;
  const agent = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: Array.from({ length: names }, (_, i) => host(`squat-${String(i).padStart(2, '0')}`)) });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  const refusals = (c: SimController): number => c.audits.filter((a) => a.type === 'service.publish.refused').length;
  t.equal(cs[0].sm.view(meshKind).declaration('rogue')?.refused.size, names, 'the record marks all 40');
  t.same(cs.map(refusals), [33, 33], 'audited by the commit on each controller: 32 one by one, the other 8 in one');
  const publishes = cs[0].sm.view(meshKind).declaration('rogue')?.publishWrites;
  agent.disconnect();
  advance(clock, cs, 1_000);
  agent.connect(cs[0]);
  advance(clock, cs, 3_000);
  t.equal(agent.controller, cs[0], 'it moved');
  t.equal(cs[0].sm.view(meshKind).declaration('rogue')?.publishWrites, publishes, 'the same publish: nothing proposed');
  t.equal(cs[0].hub.counters.publishesUndeclared, names, 'its publish counted on its new stream');
  t.same(cs.map(refusals), [33, 33], 'and not audited again');
});

void t.test('from 0.14 a refusal at apply the check did not foresee (an operator\'s write in between) is looked at again, though the log audits it no more', async (t) => {
  const { log, clock, cs } = meshStage('0.14', GRACE_MS, (now) => [initSettings(), setSetting('services.agent_publish', 'declared'), apply(now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-2' }))]);
  const agent = new SimAgent('web-1', ['http'], 'web-1-boot', { hosts: [host('web')] });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  t.equal(svcOf(cs[0], 'web')?.status.endpoints, undefined, 'not allowed: refused');
  const refusals = (): number => cs[0].audits.filter((a) => a.type === 'service.publish.refused').length;
  t.equal(refusals(), 1, 'audited by the commit');
  // Allowed: c2 looks again at its next reconcile round (2 s) and proposes the join; its report
  // waits (under the 3 s after which c2 gives its agents up) while the operator takes it back.
  cs[1].unheardByLeader = true;
  log.propose(apply(clock.now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' })));
  advance(clock, cs, 2_100);
  log.propose(apply(clock.now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-2' })));
  advance(clock, cs, 50);
  const publishes = cs[0].sm.view(meshKind).declaration('web-1')?.publishWrites ?? 0;
  cs[1].unheardByLeader = false;
  advance(clock, cs, 100);
  t.equal(cs[0].sm.view(meshKind).declaration('web-1')?.publishWrites, publishes + 1, 'the join committed after the write');
  t.equal(svcOf(cs[0], 'web')?.status.endpoints, undefined, 'and was refused again');
  t.equal(refusals(), 1, 'for the same cause: not audited again');
  log.propose(apply(clock.now, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' })));
  advance(clock, cs, 3_000);
  t.same(svcOf(cs[0], 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'allowed again: it joins without reconnecting');
  t.equal(agent.controller, cs[1]);
});

/**
 * A controller restarted from a snapshot has no transitions from before it (the snapshot keeps
 * only their sequence), so it has not seen the log audit the refusals its record marks. An agent
 * that moved to it with the same publish was audited there again, once per restart.
 */
void t.test('from 0.14 an agent moving with the same publish to a controller restarted from a snapshot is not audited again there', async (t) => {
  const { log, clock, cs } = meshStage('0.14', GRACE_MS, () => [initSettings(), setSetting('services.agent_publish', 'declared')]);
  const names = 5;
  const agent = new SimAgent('rogue', ['http'], 'rogue-boot', { hosts: Array.from({ length: names }, (_, i) => host(`squat-${i}`)) });
  agent.connect(cs[1]);
  advance(clock, cs, 1_000);
  const refusals = (c: SimController): number => c.audits.filter((a) => a.type === 'service.publish.refused').length;
  t.same(cs.map(refusals), [names, names], 'audited by the commit on each controller');
  const restarted = new SimController('c1', log, clock, { unlistedServiceGraceMs: GRACE_MS });
  restarted.leading = true;
  restarted.sm.restore(cs[0].sm.snapshot());
  restarted.tick();
  const now: [SimController, SimController] = [restarted, cs[1]];
  settle(now);
  agent.disconnect();
  advance(clock, now, 1_000);
  agent.connect(restarted);
  advance(clock, now, 3_000);
  t.equal(agent.controller, restarted, 'it moved to the restarted controller');
  t.equal(restarted.hub.counters.publishesUndeclared, names, 'its publish counted on its new stream');
  t.ok(restarted.logs.some((m) => m.includes('refuses')), 'and warned of in the restarted controller\'s log');
  t.same(now.map(refusals), [0, names], 'not audited again: its record marks every refusal for the same cause');
});
