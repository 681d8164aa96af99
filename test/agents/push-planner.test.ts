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
