/** The push planner keeps plans only to current targets (src/agents/push-planner.ts). */
import t from 'tap';
import { ManifestStore } from '../../src/agents/manifest.js';
import { PushPlanner } from '../../src/agents/push-planner.js';
import { selectAll } from '../../src/agents/selection.js';
import { agentsKind, clusterKind, encodeCommand, meshKind, settingsKind, StateMachine, type KindCommand } from '../../src/statemachine/index.js';

const agent = { id: 'a1', info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] } };
const apply = (sm: StateMachine, name: string): void =>
  void sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources: [{ kind: 'service', name, spec: { protocol: 'http', ports: [80] }, labels: {} }] } as KindCommand));
const state = (sm: StateMachine) => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), cluster: sm.view(clusterKind), revision: sm.revision() });

void t.test('a new version retires the plans to the old one: whole configurations of past versions are not held', async (t) => {
  const sm = new StateMachine();
  const store = new ManifestStore();
  const planner = new PushPlanner(store, selectAll);
  const plans = [];
  for (let v = 1; v <= 70; v++) {
    apply(sm, `s${v}`);
    const target = planner.target(agent, state(sm))!;
    plans.push(planner.plan(null, target, true));
    t.equal(planner.cachedPlans, 1, `version ${v}: only the plan to the current target`);
  }
  const target = planner.target(agent, state(sm))!;
  t.equal(planner.plan(null, target, true), plans.at(-1), 'the current one is still shared');
  planner.forget(selectAll.key(agent));
  t.equal(planner.cachedPlans, 0, 'none once no agent follows the selection');
});

void t.test('a new version of a selection keeps the entries of the resources that did not change, and is the manifest built anew', async (t) => {
  const sm = new StateMachine();
  for (let i = 0; i < 50; i++) apply(sm, `s${String(i).padStart(2, '0')}`);
  const planner = new PushPlanner(new ManifestStore(), selectAll);
  const v1 = planner.target(agent, state(sm))!;
  // One changed (s10 on another port), one added (s10a, between), one deleted (s20), a route.
  sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources: [{ kind: 'service', name: 's10', spec: { protocol: 'http', ports: [81] }, labels: {} }, { kind: 'service', name: 's10a', spec: { protocol: 'http', ports: [80] }, labels: {} }, { kind: 'route', name: 'r', spec: { from: 's01', to: 's02' }, labels: {} }] } as KindCommand));
  sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'delete', type: 'service', name: 's20' } as KindCommand));
  const v2 = planner.target(agent, state(sm))!;
  const fresh = new PushPlanner(new ManifestStore(), selectAll).target(agent, state(sm))!;
  t.same(v2.entries, fresh.entries, 'the same entries as a manifest built from nothing');
  const kept = v2.entries.filter((e) => v1.entries.includes(e)).length;
  t.equal(kept, 48, 'the 48 unchanged services keep their entries; the changed, the added and the route are new');
  t.same(planner.plan(v1, v2, false).upserts.map((r) => r.name), ['r', 's10', 's10a']);
  t.same(planner.plan(v1, v2, false).removes, ['service/s20']);
});
