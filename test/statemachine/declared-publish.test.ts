/**
 * Cluster version 0.12 (DECLARED_PUBLISH_VERSION), in the state machine alone: with the cluster
 * setting `services.agent_publish: declared`, an agent's publish serves only services an operator
 * applied. A name no operator applied is refused (nothing created, audited as publish.refused), a
 * service agents published keeps the endpoints it has but takes no new one and no new spec, and
 * an agent the operator's label allows joins as before. `open`, the default, is 0.11's rule.
 * From 0.13 an unchanged apply that takes a squatter off says `configured` (it wrote the service).
 */
import t from 'tap';
import { ALLOWED_AGENTS_LABEL, DECLARED_PUBLISH_VERSION, StateMachine, TAKEN_OFF_RESULT_VERSION, meshKind, settingsKind, type MeshTransition } from '../../src/statemachine/index.js';
import { apply, claim, cluster, clusterVersion, host, outcome, publishOf, report, run, service, setSetting, svcOf } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;

/** A cluster at `version` with agents connected (stream `<agent>-s1`) and an operator's `web` allowing agents `web-*`. */
function meshAt(version: string, agents: readonly string[]): StateMachine {
  const sm = cluster();
  run(sm, clusterVersion(version));
  for (const a of agents) run(sm, claim(a, `${a}-s1`));
  run(sm, apply(T0, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' })));
  return sm;
}

function refusals(sm: StateMachine): MeshTransition[] {
  return sm.view(meshKind).transitionsSince(0).items.filter((x) => x.type === 'publish.refused');
}

const UNDECLARED = (name: string): string =>
  `no operator declared service "${name}" and the cluster's services.agent_publish is "declared" (ctl apply the service, with label "${ALLOWED_AGENTS_LABEL}" naming the agents that may serve it)`;

void t.test('declared: a name no operator applied is refused and audited, nothing is created; an allowed agent still joins the operator\'s service', async (t) => {
  t.equal(DECLARED_PUBLISH_VERSION, '0.12');
  const sm = meshAt('0.12', ['web-1', 'rogue']);
  t.ok(run(sm, setSetting('services.agent_publish', 'declared')).ok);
  const r = run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments')]), publishOf('web-1', 'web-1-s1', [host('web'), host('extra')])] }));
  t.match(outcome(r), { published: 2, refused: 2 });
  t.equal(svcOf(sm, 'payments'), null, 'the squatter created nothing');
  t.equal(svcOf(sm, 'extra'), null, 'nor does an allowed agent create a name of its own');
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'web-1', healthy: true }], 'the allowed agent joined the operator\'s service');
  t.match(refusals(sm), [
    { service: 'payments', agent: 'rogue', reason: UNDECLARED('payments') },
    { service: 'extra', agent: 'web-1', reason: UNDECLARED('extra') },
  ]);
  // An agent the label does not allow is refused as at 0.7, with that reason.
  run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('web')])] }));
  t.match(refusals(sm).at(-1), { service: 'web', agent: 'rogue', reason: /does not allow agent "rogue"/ });
  run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments')])] }));
  const rev = sm.revision();
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments')])] }))).refused, 1);
  t.equal(sm.revision(), rev, 'refused again on the same publish: no revision');
  t.equal(svcOf(sm, 'payments'), null);
  // Once the operator applies it, the agents its label names serve it.
  run(sm, apply(T0, service('payments', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-1' })));
  run(sm, report(T0, { publish: [publishOf('web-1', 'web-1-s1', [host('web'), host('payments')])] }));
  t.same(svcOf(sm, 'payments')?.status.endpoints, [{ agent: 'web-1', healthy: true }]);
});

void t.test('declared: a service agents published before keeps its endpoints; no new agent joins it and its spec stays', async (t) => {
  const sm = meshAt('0.12', ['a1', 'a2']);
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }));
  const vip = svcOf(sm, 'api')?.status.vip;
  t.ok(vip, 'created while open');
  run(sm, setSetting('services.agent_publish', 'declared'));
  const rev = sm.revision();
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }))).refused, 0, 'its endpoint re-publishing the same is kept');
  t.equal(sm.revision(), rev, 'no revision');
  run(sm, report(T0, { publish: [publishOf('a2', 'a2-s1', [host('api')])] }));
  t.same(svcOf(sm, 'api')?.status.endpoints, [{ agent: 'a1', healthy: true }], 'a second agent does not join');
  t.match(refusals(sm).at(-1), { service: 'api', agent: 'a2', reason: /^service "api" was published by agents, no operator declared it, and the cluster's services.agent_publish is "declared"/ });
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api', 'tcp', [81])])] }));
  t.same(svcOf(sm, 'api')?.spec, { protocol: 'http', ports: [80] }, 'its endpoint cannot change its spec');
  t.same(svcOf(sm, 'api')?.status, { vip, endpoints: [{ agent: 'a1', healthy: true }] }, 'and stays its endpoint, with the VIP');
});

void t.test('open (the default) at 0.12 creates a new name as 0.11 does; the setting is refused below 0.12', async (t) => {
  const open = meshAt('0.12', ['a1']);
  t.equal(open.view(settingsKind).get('services.agent_publish'), 'open');
  t.match(outcome(run(open, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('payments')])] }))), { refused: 0 });
  t.same(svcOf(open, 'payments')?.status.endpoints, [{ agent: 'a1', healthy: true }]);

  const old = meshAt('0.11', ['a1']);
  const r = run(old, setSetting('services.agent_publish', 'declared'));
  t.match(r, { ok: false, code: 'INVALID', message: /needs cluster version 0.12, and the cluster is at 0.11/ }, 'refused as 0.11 members refuse the key');
  t.equal(old.view(settingsKind).get('services.agent_publish'), 'open');
  run(old, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('payments')])] }));
  t.ok(svcOf(old, 'payments'), 'a publish creates its service as before');
});

void t.test('declared survives a snapshot, and the restored replica decides as the others do', async (t) => {
  const a = meshAt('0.12', ['rogue']);
  run(a, setSetting('services.agent_publish', 'declared'));
  const b = new StateMachine();
  b.restore(a.snapshot());
  t.equal(b.view(settingsKind).get('services.agent_publish'), 'declared');
  for (const sm of [a, b]) run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments')])] }));
  t.equal(svcOf(b, 'payments'), null);
  t.same(b.snapshot(), a.snapshot(), 'byte-identical');
  // Back to open: the next publish creates it.
  for (const sm of [a, b]) run(sm, setSetting('services.agent_publish', 'open'));
  for (const sm of [a, b]) run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments')])] }));
  t.ok(svcOf(b, 'payments'));
  t.same(b.snapshot(), a.snapshot(), 'byte-identical again');
});

void t.test('from 0.13 (TAKEN_OFF_RESULT_VERSION) an unchanged apply that takes a squatter off says configured; one with nothing to take off, and any under open, says unchanged', async (t) => {
  t.equal(TAKEN_OFF_RESULT_VERSION, '0.13');
  const grant = { [ALLOWED_AGENTS_LABEL]: 'payments-*' };
  for (const setting of ['declared', 'open'] as const) {
    const sm = meshAt('0.13', ['rogue', 'payments-1']);
    run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments', 'http', [80], grant)]), publishOf('payments-1', 'payments-1-s1', [host('payments', 'http', [80], grant)])] }));
    run(sm, setSetting('services.agent_publish', setting));
    const rev = sm.revision();
    const r = run(sm, apply(T0, service('web', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'web-*' }), service('payments', 'http', [80], grant)));
    const taken = setting === 'declared';
    t.same(r.ok ? r.value : r, { results: [{ kind: 'service', name: 'web', action: 'unchanged' }, { kind: 'service', name: 'payments', action: taken ? 'configured' : 'unchanged' }] }, `${setting}: per resource, what happened`);
    t.equal(sm.revision() > rev, taken, taken ? 'and the revision moved' : 'no revision');
    t.same(svcOf(sm, 'payments')?.status.endpoints?.map((e) => e.agent), taken ? ['payments-1'] : ['payments-1', 'rogue']);
    const again = run(sm, apply(T0, service('payments', 'http', [80], grant)));
    t.match(again, { ok: true, value: { results: [{ name: 'payments', action: 'unchanged' }] } }, 'applied again: nothing to take off, unchanged');
  }
});

void t.test('declared: ctl apply of a service a squatter published, unchanged (its grant label guessed), takes the squatter off; open keeps it as at 0.7', async (t) => {
  const grant = { [ALLOWED_AGENTS_LABEL]: 'payments-*' };
  for (const setting of ['declared', 'open'] as const) {
    const sm = meshAt('0.12', ['rogue', 'payments-1']);
    // While open, the squatter publishes the name with the spec and the grant the operator will apply.
    run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments', 'http', [80], grant)]), publishOf('payments-1', 'payments-1-s1', [host('payments', 'http', [80], grant)])] }));
    t.same(svcOf(sm, 'payments')?.status.endpoints?.map((e) => e.agent), ['payments-1', 'rogue'], 'both serve the agents\' service');
    run(sm, setSetting('services.agent_publish', setting));
    const rev = sm.revision();
    const r = run(sm, apply(T0, service('payments', 'http', [80], grant)));
    t.match(r, { ok: true, value: { results: [{ name: 'payments', action: 'unchanged' }] } }, 'at 0.12 the result says unchanged, as 0.12.x members cache it');
    if (setting === 'declared') {
      t.same(svcOf(sm, 'payments')?.status.endpoints, [{ agent: 'payments-1', healthy: true }], 'the squatter is taken off; the allowed agent stays');
      t.ok(sm.revision() > rev, 'a revision: the endpoints changed');
      t.match(refusals(sm).at(-1), { service: 'payments', agent: 'rogue', reason: /^taken off the service's endpoints: .*does not allow agent "rogue"/ });
      run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments', 'http', [80], grant)])] }));
      t.same(svcOf(sm, 'payments')?.status.endpoints?.map((e) => e.agent), ['payments-1'], 'and does not come back');
    } else {
      t.same(svcOf(sm, 'payments')?.status.endpoints?.map((e) => e.agent), ['payments-1', 'rogue'], 'open: adopted as at 0.7, endpoints kept');
      t.equal(sm.revision(), rev, 'no revision');
      // Turned to declared later, the operator's apply of its own service, unchanged, takes the squatter off.
      run(sm, setSetting('services.agent_publish', 'declared'));
      run(sm, apply(T0, service('payments', 'http', [80], grant)));
      t.same(svcOf(sm, 'payments')?.status.endpoints?.map((e) => e.agent), ['payments-1'], 'declared: the kept squatter goes at the next apply');
    }
    // Unchanged again: nothing more to take off, no revision.
    const again = sm.revision();
    run(sm, apply(T0, service('payments', 'http', [80], grant)));
    t.equal(sm.revision(), again, 'an unchanged apply of the operator\'s service claims no revision');
  }
});
