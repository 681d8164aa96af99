/** The push planner keeps plans only to current targets (src/agents/push-planner.ts). */
import t from 'tap';
import { ManifestStore } from '../../src/agents/manifest.js';
import { PlanJob } from '../../src/agents/plan-job.js';
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

void t.test('a new target after a change of a big mesh builds no map of every key; plans find their resources all the same', async (t) => {
  const sm = new StateMachine();
  for (let b = 0; b < 5_000; b += 1_000) {
    const resources = Array.from({ length: 1_000 }, (_, i) => ({ kind: 'service', name: `s${b + i}`, spec: { protocol: 'http', ports: [80] }, labels: {} }));
    sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources } as KindCommand));
  }
  const planner = new PushPlanner(new ManifestStore(), selectAll);
  const v1 = planner.target(agent, state(sm))!;
  apply(sm, 's2500a');
  let sets = 0;
  const set = Map.prototype.set;
  Map.prototype.set = function <K, V>(this: Map<K, V>, key: K, value: V): Map<K, V> {
    sets++;
    return set.call(this, key, value) as Map<K, V>;
  };
  let v2;
  try {
    v2 = planner.target(agent, state(sm))!;
  } finally {
    Map.prototype.set = set;
  }
  t.equal(v2.size, 5_001);
  t.ok(sets < 50, `${sets} map entries set for the new target, not one per resource`);
  t.same(planner.plan(v1, v2, false).upserts.map((r) => r.name), ['s2500a']);
  const whole = planner.plan(null, v2, true);
  t.same(whole.upserts.map((r) => r.name), sm.view(meshKind).list().map((r) => r.name), 'the whole configuration resolves every key');
});

void t.test("a selector that lists a name twice: the target keeps its last resource, as before", async (t) => {
  const r = (name: string, port: number, revision: number) => ({ kind: 'service' as const, name, spec: { protocol: 'http', ports: [port] }, labels: {}, status: {}, revision });
  let resources = [r('a', 80, 1), r('b', 80, 2), r('b', 81, 3), r('c', 80, 4)];
  let version = 4;
  const twice = { key: () => 'twice', select: () => ({ version, resources: () => resources }) };
  const planner = new PushPlanner(new ManifestStore(), twice);
  const v1 = planner.target(agent, state(new StateMachine()))!;
  t.same(v1.entries.map((e) => [e.key, e.revision]), [['service/a', 1], ['service/b', 3], ['service/c', 4]]);
  t.same(planner.plan(null, v1, true).upserts.map((x) => x.spec), [{ protocol: 'http', ports: [80] }, { protocol: 'http', ports: [81] }, { protocol: 'http', ports: [80] }]);
  // The next version takes the old entries where it can, and still keeps the last of a name twice.
  resources = [resources[0]!, resources[1]!, resources[2]!, r('c', 82, 5), r('c', 83, 6)];
  version = 6;
  const v2 = planner.target(agent, state(new StateMachine()))!;
  t.same(v2.entries.map((e) => [e.key, e.revision]), [['service/a', 1], ['service/b', 3], ['service/c', 6]]);
  t.same(planner.plan(v1, v2, false).upserts.map((x) => x.spec), [{ protocol: 'http', ports: [83] }]);
});

void t.test('a target whose manifest was interned before (an agent held it) finds its resources by key', async (t) => {
  const sm = new StateMachine();
  for (const name of ['s1', 's2', 's3']) apply(sm, name);
  const store = new ManifestStore();
  const planner = new PushPlanner(store, selectAll);
  const v1 = planner.target(agent, state(sm))!;
  store.retain(v1);
  planner.forget(selectAll.key(agent));
  const again = planner.target(agent, state(sm))!;
  t.equal(again, v1, 'the manifest held is handed out again');
  const job = new PlanJob(null, again, planner.resourcesOf(again));
  while (job.done === null) job.step(2);
  t.same(job.done.plan.upserts.map((r) => r.name), ['s1', 's2', 's3']);
});
