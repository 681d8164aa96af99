/**
 * Cluster version 0.12 (DECLARED_PUBLISH_VERSION), in the state machine alone: with the cluster
 * setting `services.agent_publish: declared`, an agent's publish serves only services an operator
 * applied. A name no operator applied is refused (nothing created, audited as publish.refused), a
 * service agents published keeps the endpoints it has but takes no new one and no new spec, and
 * an agent the operator's label allows joins as before. `open`, the default, is 0.11's rule.
 * From 0.13 an unchanged apply that takes a squatter off says `configured` (it wrote the service).
 * From 0.14 a publish's refusal is audited only when new for the agent, service and cause.
 */
import t from 'tap';
import { ALLOWED_AGENTS_LABEL, DECLARED_PUBLISH_VERSION, REFUSALS_ONCE_VERSION, StateMachine, TAKEN_OFF_RESULT_VERSION, meshKind, settingsKind, type MeshTransition } from '../../src/statemachine/index.js';
import { MAX_AUDITED_REFUSALS, MAX_REFUSAL_MARKS } from '../../src/statemachine/refusal-marks.js';
import { apply, claim, cluster, clusterVersion, forgetRecord, host, offline, outcome, publishOf, report, run, service, setSetting, svcOf } from './mesh-helpers.js';

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

/** The refusals the log audited since transition `after`, as `agent service` lines. */
function auditedSince(sm: StateMachine, after: number): string[] {
  return refusals(sm).filter((x) => x.seq > after).map((x) => (x.type === 'publish.refused' ? `${x.agent} ${x.service}` : ''));
}

const lastSeq = (sm: StateMachine): number => sm.view(meshKind).transitionSeq;

void t.test('from 0.14 (REFUSALS_ONCE_VERSION) a refusal is audited once per agent, service and cause: again for a new cause, or once the agent served the service', async (t) => {
  t.equal(REFUSALS_ONCE_VERSION, '0.14');
  const sm = meshAt('0.14', ['rogue']);
  run(sm, setSetting('services.agent_publish', 'declared'));
  const publish = (...names: string[]): string[] => {
    const seq = lastSeq(sm);
    const r = outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', names.map((n) => host(n)))] })));
    t.equal(r.refused, names.filter((n) => svcOf(sm, n)?.status.endpoints?.some((e) => e.agent === 'rogue') !== true).length, `${names.join(', ')}: every refusal still counted in the outcome`);
    return auditedSince(sm, seq);
  };
  t.same(publish('payments'), ['rogue payments'], 'new: audited');
  t.same(publish('payments', 'extra'), ['rogue extra'], 'only the new one');
  t.same(publish('extra', 'payments'), [], 'the same refusals again: none');
  t.same(publish(), [], 'none listed');
  t.same(publish('payments'), [], 'listed again, refused for the same cause: the record kept its mark');
  t.same([...(sm.view(meshKind).declaration('rogue')?.refused ?? [])].sort(), [['extra', 'undeclared'], ['payments', 'undeclared']], 'the record names both, the unlisted one too');
  // An operator applies payments for other agents: a new cause.
  run(sm, apply(T0, service('payments', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'payments-*' })));
  t.same(publish('payments'), ['rogue payments'], 'refused for another cause (not allowed): audited');
  t.same(publish('payments'), [], 'once');
  // Allowed, it joins (served: unmarked); the operator's write that takes it off is audited as
  // before, and its next publish, refused, is new again.
  run(sm, apply(T0, service('payments', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'rogue' })));
  t.same(publish('payments'), [], 'allowed: it joins');
  t.same(svcOf(sm, 'payments')?.status.endpoints, [{ agent: 'rogue', healthy: true }]);
  t.same([...(sm.view(meshKind).declaration('rogue')?.refused ?? [])], [['extra', 'undeclared']], 'served: no longer marked');
  const seq = lastSeq(sm);
  run(sm, apply(T0, service('payments', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'payments-*' })));
  t.match(refusals(sm).filter((x) => x.seq > seq), [{ agent: 'rogue', service: 'payments', reason: /^taken off/ }], 'taken off by the operator: audited');
  t.same(publish('payments'), ['rogue payments'], 'refused after it was served: a new refusal');
});

void t.test('from 0.14 the marks survive a snapshot (the restored replica audits as the others), go with the agent\'s record, and are bounded', async (t) => {
  const a = meshAt('0.14', ['rogue']);
  run(a, setSetting('services.agent_publish', 'declared'));
  run(a, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments'), host('extra')])] }));
  const b = new StateMachine();
  b.restore(a.snapshot());
  t.ok(new TextDecoder().decode(a.snapshot()).includes('"refused":[["extra","undeclared"],["payments","undeclared"]]'), 'the snapshot names them');
  for (const sm of [a, b]) run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments'), host('other')])] }));
  t.same(auditedSince(b, 0), ['rogue other'], 'restored: only the new refusal audited');
  t.same(auditedSince(a, 0).slice(2), ['rogue other'], 'as on the replica that applied them');
  t.same(b.snapshot(), a.snapshot(), 'byte-identical');
  // Record forgotten (reaped): the marks go with it; an agent of that name later is audited afresh.
  for (const sm of [a, b]) {
    run(sm, offline('rogue', 'rogue-s1'));
    run(sm, forgetRecord('rogue', 'rogue-s1'));
    run(sm, report(T0, { forget: ['rogue'] }));
    t.equal(sm.view(meshKind).declaration('rogue'), null, 'the record is gone');
    run(sm, claim('rogue', 'rogue-s2', 2));
  }
  const seq = lastSeq(a);
  run(a, report(T0, { publish: [publishOf('rogue', 'rogue-s2', [host('payments')])] }));
  t.same(auditedSince(a, seq), ['rogue payments'], 'audited afresh');
  // An agent cycling through more names than a publish lists keeps MAX_REFUSAL_MARKS marks at most.
  const names = (from: number): ReturnType<typeof host>[] => Array.from({ length: MAX_REFUSAL_MARKS }, (_, i) => host(`n-${from + i}`));
  for (let round = 0; round < 3; round++) run(a, report(T0, { publish: [publishOf('rogue', 'rogue-s2', names(round * 100))] }));
  t.equal(a.view(meshKind).declaration('rogue')?.refused.size, MAX_REFUSAL_MARKS, `bounded at ${MAX_REFUSAL_MARKS}`);
  // Two sets of MAX_REFUSAL_MARKS names listed in turn push each other out of the marks, so each
  // publish's refusals are new: MAX_AUDITED_REFUSALS of them audited one by one, the rest in one
  // transition that counts them (256 transitions per publish without it), all marked.
  for (const from of [1_000, 2_000, 1_000]) {
    const before = lastSeq(a);
    run(a, report(T0, { publish: [publishOf('rogue', 'rogue-s2', names(from))] }));
    const audited = refusals(a).filter((x) => x.seq > before);
    t.equal(audited.length, MAX_AUDITED_REFUSALS + 1, `names from n-${from}: ${MAX_AUDITED_REFUSALS} one by one and one for the rest`);
    const rest = MAX_REFUSAL_MARKS - MAX_AUDITED_REFUSALS;
    t.match(audited.at(-1), { type: 'publish.refused', agent: 'rogue', reason: new RegExp(`^${rest} more services refused in this publish than the ${MAX_AUDITED_REFUSALS} it audits one by one \\(n-${from + MAX_AUDITED_REFUSALS}, .*, and ${rest - 8} more\\); the first: no operator declared`) }, 'the rest counted and named in one');
    t.equal(a.view(meshKind).declaration('rogue')?.refused.size, MAX_REFUSAL_MARKS, 'every one marked');
  }
  // The same set again: nothing new, nothing audited.
  const again = lastSeq(a);
  run(a, report(T0, { publish: [publishOf('rogue', 'rogue-s2', names(1_000))] }));
  t.equal(refusals(a).filter((x) => x.seq > again).length, 0, 'listed again: none');
  const c = new StateMachine();
  c.restore(a.snapshot());
  t.same(c.snapshot(), a.snapshot(), 'a full record restores as it was');
});

void t.test('below 0.14 every committed publish audits all its refusals, and no record names them (0.13 members refuse the field)', async (t) => {
  const sm = meshAt('0.13', ['rogue']);
  run(sm, setSetting('services.agent_publish', 'declared'));
  for (let i = 0; i < 3; i++) run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments'), host('extra')])] }));
  t.equal(refusals(sm).length, 6, 'every refusal of every publish');
  t.equal(sm.view(meshKind).declaration('rogue')?.refused.size, 0);
  t.notOk(new TextDecoder().decode(sm.snapshot()).includes('"refused"'), 'the snapshot has no such field');
  // Raised to 0.14: the record starts unmarked, so the next refusal is new.
  run(sm, clusterVersion('0.14'));
  run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments'), host('extra')])] }));
  run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments'), host('extra')])] }));
  t.equal(refusals(sm).length, 8, 'audited once at the raise, not again');
});

void t.test("a snapshot's bad refusal marks are refused and the state kept", async (t) => {
  const a = meshAt('0.14', ['rogue']);
  run(a, setSetting('services.agent_publish', 'declared'));
  run(a, report(T0, { publish: [publishOf('rogue', 'rogue-s1', [host('payments'), host('extra')])] }));
  const text = new TextDecoder().decode(a.snapshot());
  const good = '"refused":[["extra","undeclared"],["payments","undeclared"]]';
  t.ok(text.includes(good));
  const b = meshAt('0.14', ['other']);
  const before = b.snapshot();
  const many = JSON.stringify(Array.from({ length: MAX_REFUSAL_MARKS + 1 }, (_, i) => [`n-${String(i).padStart(4, '0')}`, 'undeclared']));
  for (const [name, bad] of [
    ['not a list', '"refused":"payments"'],
    ['empty', '"refused":[]'],
    ['a bad cause', '"refused":[["extra","undeclared"],["payments","nope"]]'],
    ['not sorted', '"refused":[["payments","undeclared"],["extra","undeclared"]]'],
    ['repeated', '"refused":[["extra","undeclared"],["extra","undeclared"]]'],
    ['a bad name', '"refused":[["Extra!","undeclared"]]'],
    ['not a pair', '"refused":[["extra"]]'],
    ['too many', `"refused":${many}`],
  ] as const) {
    t.throws(() => b.restore(new TextEncoder().encode(text.replace(good, bad))), { name: 'SnapshotError' }, name);
    t.same(b.snapshot(), before, `${name}: the state is unchanged`);
  }
});
