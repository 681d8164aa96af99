/**
 * Cluster version 0.7 (SERVICE_OWNERSHIP_VERSION), in the state machine alone: an operator's
 * service is the operator's (an agent joins it only when its label `mesh/allowed-agents` allows
 * the agent), and a service agents published that no agent lists any more is expired when the
 * leader asks (report `expireServices`), re-checked at apply, its VIP quarantined. Below the
 * level each entry is applied as 0.6.0 members apply it.
 */
import t from 'tap';
import { ALLOWED_AGENTS_LABEL, SERVICE_OWNERSHIP_VERSION, StateMachine, meshKind, type MeshTransition } from '../../src/statemachine/index.js';
import { apply, claim, cluster, clusterVersion, forgetRecord, host, offline, outcome, publishOf, report, route, run, service, setSetting, svcOf } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

/** A cluster at `version` with agents connected (stream `<agent>-s1`) and an operator's `web`. */
function meshAt(version: string, agents: readonly string[], webLabels: Record<string, string> = {}): StateMachine {
  const sm = cluster();
  run(sm, clusterVersion(version));
  for (const a of agents) run(sm, claim(a, `${a}-s1`));
  run(sm, apply(T0, service('web', 'http', [80], webLabels)));
  return sm;
}

function lastTransition(sm: StateMachine): MeshTransition | undefined {
  return sm.view(meshKind).transitionsSince(0).items.at(-1);
}

void t.test('at 0.6 (a cluster with a 0.6.0 member) any agent still joins an operator\'s service with its spec and labels, as 0.6.0 members apply it', async (t) => {
  const sm = meshAt('0.6', ['rogue']);
  const r = run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('web')])] }));
  t.match(outcome(r), { published: 1, refused: 0 });
  t.notOk('servicesExpired' in outcome(r), 'the outcome is what 0.6.0 members answer (it is cached alike)');
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'rogue', healthy: true }]);
});

void t.test('from 0.7 an agent the operator\'s service does not allow is refused for it, audited; its other services go through', async (t) => {
  t.equal(SERVICE_OWNERSHIP_VERSION, '0.7');
  const sm = meshAt('0.7', ['rogue']);
  const web = svcOf(sm, 'web');
  const r = run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('web'), host('own')])] }));
  t.match(outcome(r), { published: 1, refused: 1, servicesExpired: 0 });
  t.equal(svcOf(sm, 'web'), web, "the operator's service is untouched: no endpoint added");
  t.same(svcOf(sm, 'own')?.status.endpoints, [{ agent: 'rogue', healthy: true }], 'its own service is created');
  t.match(sm.view(meshKind).transitionsSince(0).items.filter((x) => x.type === 'publish.refused'), [
    { service: 'web', agent: 'rogue', reason: `applied by an operator, which does not allow agent "rogue" to serve it (label "${ALLOWED_AGENTS_LABEL}" on the service names the agents that may)` },
  ]);
  const rev = sm.revision();
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('web'), host('own')])] }))).refused, 1);
  t.equal(sm.revision(), rev, 'the same refused publish again: no revision');
});

void t.test('from 0.7 the label names the agents that may serve it (exact or prefix*): they join with the spec and the other labels', async (t) => {
  const sm = meshAt('0.7', ['web-1', 'web-2', 'db-1', 'ops'], { tier: 'front', [ALLOWED_AGENTS_LABEL]: 'web-*, ops' });
  const r = run(sm, report(T0, { publish: ['web-1', 'web-2', 'db-1', 'ops'].map((a) => publishOf(a, `${a}-s1`, [host('web', 'http', [80], { tier: 'front' })])) }));
  t.equal(outcome(r).refused, 1, 'db-1 alone refused');
  t.same(svcOf(sm, 'web')?.status.endpoints?.map((e) => e.agent), ['ops', 'web-1', 'web-2']);
  t.match(lastTransition(sm), { type: 'publish.refused', agent: 'db-1' });
  // An allowed agent with another spec is refused as before: the operator's stands.
  run(sm, claim('web-3', 'web-3-s1'));
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('web-3', 'web-3-s1', [host('web', 'tcp', [80], { tier: 'front' })])] }))).refused, 1);
  t.match(lastTransition(sm), { agent: 'web-3', reason: /another spec or labels; the operator's stands/ });
});

void t.test("from 0.7 an operator's write keeps only the agents it allows; an endpoint from before the level stays until then", async (t) => {
  const sm = meshAt('0.6', ['old', 'kept']);
  run(sm, report(T0, { publish: ['old', 'kept'].map((a) => publishOf(a, `${a}-s1`, [host('web')])) }));
  run(sm, clusterVersion('0.7'));
  const rev = sm.revision();
  run(sm, report(T0, { publish: ['old', 'kept'].map((a) => publishOf(a, `${a}-s1`, [host('web')])) }));
  t.equal(sm.revision(), rev, 'endpoints from before the level are not undone by their re-publish');
  run(sm, apply(T0, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'kept' })));
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'kept', healthy: true }], 'the operator\'s write took "old" off');
  t.match(lastTransition(sm), { type: 'publish.refused', service: 'web', agent: 'old', reason: /^taken off the service's endpoints: applied by an operator, which does not allow agent "old"/ });
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('old', 'old-s1', [host('web')])] }))).refused, 1, 'and it does not join again');
});

void t.test('from 0.7 an agent no longer listing its service has it expired when asked: VIP quarantined, its dependents see it go', async (t) => {
  const sm = meshAt('0.7', ['a1', 'a2']);
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api')]), publishOf('a2', 'a2-s1', [], { dependencies: ['api'] })] }));
  const vip = svcOf(sm, 'api')?.status.vip;
  t.same(sm.view(meshKind).unlistedPublished('declarations'), [], 'listed by a1');
  // A reconnect (offline, then a new stream) keeps the declaration: still listed.
  run(sm, offline('a1', 'a1-s1'));
  run(sm, claim('a1', 'a1-s2', 2));
  t.same(sm.view(meshKind).unlistedPublished('declarations'), [], 'a reconnect leaves it listed');
  run(sm, report(T0 + MIN, { publish: [publishOf('a1', 'a1-s2', [])] }));
  t.same(sm.view(meshKind).unlistedPublished('declarations'), ['api'], 'unlisted once a1 drops it (a2 depends on it, hosts nothing)');
  t.equal(svcOf(sm, 'api')?.status.vip, vip, 'kept until the leader asks');
  const r = run(sm, report(T0 + 11 * MIN, { expireServices: ['api', 'web', 'nothing'] }));
  t.equal(outcome(r).servicesExpired, 1, "only the agents' unlisted service: not the operator's web, not a name that does not exist");
  t.equal(svcOf(sm, 'api'), null);
  t.equal(svcOf(sm, 'web')?.kind, 'service');
  t.equal(sm.view(meshKind).declaration('a2')?.revision, r.ok ? r.revision : -1, 'a2, which depends on it, has a new configuration');
  t.match(lastTransition(sm), { type: 'vip.released', service: 'api', vip, cause: 'expired' });
  // The address waits out its quarantine: a new service gets another one.
  run(sm, report(T0 + 12 * MIN, { publish: [publishOf('a1', 'a1-s2', [host('api')])] }));
  t.not(svcOf(sm, 'api')?.status.vip, vip, 'a new api within the quarantine: another VIP');
});

void t.test('from 0.7 a service listed again before the expiry applies keeps its VIP; one a route names, or an operator applied, never expires', async (t) => {
  const sm = meshAt('0.7', ['a1', 'a2']);
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api'), host('db'), host('cache')])] }));
  const vips = new Map(['api', 'db', 'cache'].map((n) => [n, svcOf(sm, n)?.status.vip]));
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [])] }));
  t.same(sm.view(meshKind).unlistedPublished('declarations'), ['api', 'cache', 'db']);
  // a2 (a rolling change moving api to another agent) lists api, in the log before the expiry.
  run(sm, report(T0 + MIN, { publish: [publishOf('a2', 'a2-s1', [host('api')])] }));
  run(sm, apply(T0 + MIN, route('to-db', 'api', 'db')));
  run(sm, apply(T0 + MIN, service('cache')));
  const rev = sm.revision();
  const r = run(sm, report(T0 + 11 * MIN, { expireServices: ['api', 'cache', 'db'] }));
  t.equal(outcome(r).servicesExpired, 0, 're-checked at apply: each is kept');
  t.equal(sm.revision(), rev, 'no revision');
  t.same(new Map(['api', 'db', 'cache'].map((n) => [n, svcOf(sm, n)?.status.vip])), vips, 'every VIP as it was');
  t.same(sm.view(meshKind).unlistedPublished('declarations'), [], 'the route keeps db, the apply made cache the operator\'s');
});

void t.test("from 0.7 a forgotten agent's services expire; below it the field is ignored as 0.6.0 members would have no such field", async (t) => {
  const sm = meshAt('0.6', ['a1']);
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }));
  run(sm, offline('a1', 'a1-s1'));
  run(sm, forgetRecord('a1', 'a1-s1'));
  run(sm, report(T0, { forget: ['a1'] }));
  t.same(sm.view(meshKind).unlistedPublished('declarations'), ['api']);
  const at06 = run(sm, report(T0 + 11 * MIN, { expireServices: ['api'] }));
  t.notOk('servicesExpired' in outcome(at06));
  t.equal(svcOf(sm, 'api')?.kind, 'service', 'kept at 0.6');
  run(sm, clusterVersion('0.7'));
  t.equal(outcome(run(sm, report(T0 + 12 * MIN, { expireServices: ['api'] }))).servicesExpired, 1);
  t.equal(svcOf(sm, 'api'), null);
});

void t.test('a replica restored from a snapshot at any point decides alike (the hosting index is derived)', async (t) => {
  const live = meshAt('0.7', ['a1', 'a2'], { [ALLOWED_AGENTS_LABEL]: 'a2' });
  run(live, setSetting('services.vip_quarantine', 5 * MIN));
  const steps = [
    report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api'), host('web')]), publishOf('a2', 'a2-s1', [host('web'), host('db')])] }),
    report(T0 + MIN, { publish: [publishOf('a1', 'a1-s1', [host('web')])] }),
    report(T0 + 2 * MIN, { publish: [publishOf('a2', 'a2-s1', [host('web')])] }),
    report(T0 + 20 * MIN, { expireServices: ['api', 'db'] }),
    report(T0 + 21 * MIN, { publish: [publishOf('a1', 'a1-s1', [host('web'), host('db')])] }),
  ];
  for (const [i, step] of steps.entries()) {
    const replica = new StateMachine();
    replica.restore(live.snapshot());
    const a = run(live, step);
    const b = run(replica, step);
    t.same(b, a, `step ${i}: the same result`);
    t.same(replica.snapshot(), live.snapshot(), `step ${i}: the same state`);
    t.same(replica.view(meshKind).unlistedPublished('declarations'), live.view(meshKind).unlistedPublished('declarations'));
  }
  t.same(svcOf(live, 'web')?.status.endpoints?.map((e) => e.agent), ['a2'], 'a1 not allowed on the operator\'s web');
  t.equal(svcOf(live, 'api'), null, 'api expired');
  t.not(svcOf(live, 'db')?.status.vip, undefined, 'db created again with a VIP');
});
