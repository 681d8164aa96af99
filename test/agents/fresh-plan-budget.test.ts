/**
 * Pushes planned afresh are done in steps, a bounded amount per pump (src/agents/fresh-plan-budget.ts,
 * src/agents/plan-job.ts): a whole configuration of a big mesh no longer holds a controller's loop
 * in one go, every waiting stream is served in order, and nothing is sent twice.
 */
import t from 'tap';
import { FreshPlans } from '../../src/agents/fresh-plan-budget.js';
import type { HubEffect } from '../../src/agents/hub-types.js';
import { Manifest, ManifestStore } from '../../src/agents/manifest.js';
import { PlanJob } from '../../src/agents/plan-job.js';
import { PushPlanner } from '../../src/agents/push-planner.js';
import { selectAll } from '../../src/agents/selection.js';
import { pushBody } from '../../src/agents/wire.js';
import { agentsKind, clusterKind, encodeCommand, meshKind, settingsKind, StateMachine, type KindCommand, type ResourceInput } from '../../src/statemachine/index.js';
import { SimAgent, SimController, SimLog, applyCmd, settle, svc } from './hub-harness.js';

const agent = { id: 'a1', info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] } };
const state = (sm: StateMachine) => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), cluster: sm.view(clusterKind), revision: sm.revision() });

function applyTo(sm: StateMachine, resources: ResourceInput[]): void {
  sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources } as KindCommand));
}

function services(prefix: string, n: number, labels: Record<string, string> = {}): ResourceInput[] {
  return Array.from({ length: n }, (_, i) => ({ ...svc(`${prefix}-${i}`, i % 2 === 0 ? 'http' : 'tcp', [1 + i]), labels }));
}

/** A planner on a mesh of `n` services at version 1, the agent's target, and the state machine. */
function stage(n: number): { sm: StateMachine; planner: PushPlanner; v1: Manifest } {
  const sm = new StateMachine();
  applyTo(sm, services('s', n, { team: 'a "quoted" \u00e9 name' }));
  const planner = new PushPlanner(new ManifestStore(), selectAll);
  return { sm, planner, v1: planner.target(agent, state(sm))! };
}

void t.test('a plan done in steps is the plan and the body made in one go, byte for byte', async (t) => {
  const { sm, planner, v1 } = stage(300);
  const whole = planner.plan(null, v1, true);
  const stepped = new PlanJob(null, v1, planner.resourcesOf(v1));
  let steps = 0;
  let least = Infinity;
  while (stepped.done === null) {
    least = Math.min(least, stepped.step(7));
    steps++;
  }
  t.ok(least >= 1 && steps > 80, `in many steps (${steps}), each of one unit at least`);
  t.same(stepped.done.plan, whole);
  t.same(Buffer.from(stepped.done.body), Buffer.from(pushBody(whole)), 'the body pushBody writes');

  // A delta: some changed, some removed, some added.
  applyTo(sm, [...services('s', 10).map((r) => ({ ...r, labels: { changed: 'yes' } })), ...services('t', 5)]);
  sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'delete', type: 'service', name: 's-299' } as KindCommand));
  const v2 = planner.target(agent, state(sm))!;
  const delta = new PlanJob(v1, v2, planner.resourcesOf(v2));
  while (delta.done === null) delta.step(3);
  const direct = new PushPlanner(new ManifestStore(), selectAll);
  const plan = direct.plan(v1, direct.target(agent, state(sm))!, false);
  t.same(delta.done.plan, plan);
  t.same(delta.done.plan.removes, ['service/s-299']);
  t.equal(delta.done.plan.upserts.length, 15);
  t.same(Buffer.from(delta.done.body), Buffer.from(pushBody(plan)));
});

void t.test('a pump plans at most its budget afresh; waiting streams get their plans oldest first', async (t) => {
  const { sm, planner, v1 } = stage(3000);
  const fresh = new FreshPlans(planner, 1000);
  // Three streams: two want the whole configuration (one job), one a delta from an older manifest.
  const older = new Manifest(0, []);
  fresh.startPump();
  t.equal(fresh.plan(1, null, v1, true), null, 'the whole configuration does not fit one pump');
  t.ok(fresh.spent);
  t.equal(fresh.plan(2, older, v1, false), null);
  t.equal(fresh.plan(3, null, v1, true), null);
  // A plan already cached goes at once, spent budget or not.
  const held = new Manifest(1, v1.entries.slice(1));
  const cached = planner.plan(held, v1, false);
  t.equal(fresh.plan(4, held, v1, false)?.plan, cached, 'a cached plan does not wait');
  const order: number[] = [];
  let pumps = 1;
  while (fresh.pending) {
    pumps++;
    order.push(...fresh.startPump());
    if (pumps > 50) throw new Error('the jobs did not end in 50 pumps');
  }
  // 3,000 merged and 3,000 encoded per job: 6 pumps each at 1,000 a pump, give or take the ends.
  t.ok(pumps >= 12, `two jobs of 6,000 steps at 1,000 a pump take at least 12 pumps (${pumps})`);
  t.same(order, [1, 3, 2], 'the streams of the older job first');
  const whole = fresh.plan(1, null, v1, true)?.plan;
  t.not(whole, undefined);
  t.equal(fresh.plan(3, null, v1, true)?.plan, whole, 'one plan for both streams that wanted it');
  t.equal(pushBody(whole!), pushBody(whole!), 'its body encoded once');
  t.equal(planner.cachedPlan(null, v1, true), whole, 'and kept as the planner keeps its own');
  void sm;
});

void t.test('a stream that ends stops its job when nobody else waits for it', async (t) => {
  const { planner, v1 } = stage(3000);
  const fresh = new FreshPlans(planner, 500);
  fresh.startPump();
  t.equal(fresh.plan(1, null, v1, true), null);
  t.ok(fresh.pending);
  fresh.forget(1);
  t.notOk(fresh.pending, 'no job left');
});

/** A hub's pumps counted, and the pump at which each push went out. */
function countPumps(c: SimController): { pumps: () => number; pushAt: number[] } {
  let pumps = 0;
  const pushAt: number[] = [];
  const pump = c.hub.pump.bind(c.hub);
  c.hub.pump = (now: number, max: number): HubEffect[] => {
    pumps++;
    const out = pump(now, max);
    for (const e of out) if (e.type === 'send' && e.message.type === 'push') pushAt.push(pumps);
    return out;
  };
  return { pumps: () => pumps, pushAt };
}

void t.test('a new agent on a big mesh: its whole configuration is planned over several pumps, sent once, shared', async (t) => {
  const log = new SimLog();
  const clock = { now: 1000 };
  const c = new SimController('c1', log, clock, { freshUnitsPerPump: 2000 });
  c.tick();
  for (let b = 0; b < 4; b++) log.propose(applyCmd(...services(`b${b}`, 2500)));
  settle([c]);
  const counted = countPumps(c);
  const a1 = new SimAgent('a1');
  a1.connect(c);
  settle([c]);
  t.equal(a1.received.length, 1, 'one push');
  t.equal(a1.config.version, log.truth.revision());
  t.equal(a1.names().length, 10_000, 'the whole configuration');
  // 10,000 entries merged and 10,000 resources encoded, 2,000 a pump: the old hub sent it in its first pump.
  t.ok(counted.pushAt[0]! >= 10, `sent at pump ${counted.pushAt[0]}, after its plan took 10 pumps at least`);
  t.equal(c.hub.localState('a1'), 'SYNCED');

  const before = counted.pumps();
  const a2 = new SimAgent('a2');
  a2.connect(c);
  settle([c]);
  t.equal(a2.received.length, 1);
  t.equal(a2.received[0]!.plan, a1.received[0]!.plan, 'the same plan, planned once');
  t.ok(counted.pushAt[1]! - before <= 2, 'sent at once: nothing to plan afresh');
});

void t.test('agents that connect while a big plan is made are each sent their push once, in order', async (t) => {
  const log = new SimLog();
  const clock = { now: 1000 };
  const c = new SimController('c1', log, clock, { freshUnitsPerPump: 1500 });
  c.tick();
  for (let b = 0; b < 2; b++) log.propose(applyCmd(...services(`b${b}`, 2500)));
  settle([c]);
  const agents = Array.from({ length: 6 }, (_, i) => new SimAgent(`a${i + 1}`));
  for (const a of agents) a.connect(c);
  // A change while they wait: the first plan is to a version no longer current.
  c.flush();
  c.catchUp();
  log.propose(applyCmd(svc('late')));
  settle([c]);
  for (const a of agents) {
    t.equal(a.config.version, log.truth.revision(), `${a.id} holds the newest version`);
    t.equal(a.names().length, 5001, `${a.id}: the whole configuration`);
    t.ok(a.received.length <= 2, `${a.id}: at most one push per version (${a.received.length})`);
    t.equal(new Set(a.received.map((p) => p.nonce)).size, a.received.length, 'no nonce twice');
  }
});

/** The largest budget any PlanJob step was given while `run` ran. */
function largestStep(run: () => void): number {
  let largest = 0;
  const step = PlanJob.prototype.step;
  PlanJob.prototype.step = function (this: PlanJob, units: number): number {
    largest = Math.max(largest, units);
    return step.call(this, units);
  };
  try {
    run();
  } finally {
    PlanJob.prototype.step = step;
  }
  return largest;
}

void t.test('a new agent on a big mesh that changes more often than its plan takes is sent its configuration, no step past the budget', async (t) => {
  // Each change makes a new target and retires the one being planned. Dropping the job starved
  // the agent (nothing sent however long the changes went on); making the plan whole at once
  // after two drops held the loop for a whole configuration. Now the job goes on to the target
  // it began with, which is sent, and the next push catches up. Here a whole configuration takes
  // about 10 pumps and the mesh changes every 4.
  const log = new SimLog();
  const clock = { now: 1000 };
  const c = new SimController('c1', log, clock, { freshUnitsPerPump: 1000 });
  c.tick();
  for (let b = 0; b < 2; b++) log.propose(applyCmd(...services(`b${b}`, 2500)));
  settle([c]);
  const a1 = new SimAgent('a1');
  let rounds = 0;
  const largest = largestStep(() => {
    a1.connect(c);
    for (; rounds < 60 && a1.received.length < 3; rounds++) {
      for (let p = 0; p < 4 && c.hub.hasWork(); p++) c.run(c.hub.pump(clock.now, 64));
      log.propose(applyCmd(svc(`churn-${rounds}`)));
      c.catchUp();
    }
  });
  t.ok(a1.received.length >= 3, `sent ${a1.received.length} pushes in ${rounds} rounds while the mesh kept changing`);
  t.ok(largest <= 1000, `no plan step given more than a pump's budget (largest ${largest})`);
  const versions = a1.received.map((p) => p.plan.version);
  t.ok(versions.every((v, i) => i === 0 || v > versions[i - 1]!), `each push a newer version (${versions.join(', ')})`);
  t.equal(a1.received[0]!.plan.baseVersion, null, 'the first the whole configuration');
  t.ok(a1.received.slice(1).every((p) => p.plan.baseVersion !== null), 'the next ones deltas');
  settle([c]);
  t.equal(a1.config.version, log.truth.revision(), 'and the newest once it stopped');
  t.equal(a1.names().length, 5000 + rounds, 'every service');
});

void t.test('new agents that arrive one by one during churn share the whole plan being made, not one each', async (t) => {
  // Each arrives at a new version: with a job per version, six whole configurations would be
  // planned (and their bodies held) side by side; a stream joins the newest job from nothing.
  const log = new SimLog();
  const clock = { now: 1000 };
  const c = new SimController('c1', log, clock, { freshUnitsPerPump: 1000 });
  c.tick();
  for (let b = 0; b < 2; b++) log.propose(applyCmd(...services(`b${b}`, 2500)));
  settle([c]);
  const agents = Array.from({ length: 6 }, (_, i) => new SimAgent(`a${i + 1}`));
  let jobs = 0;
  const largest = largestStep(() => {
    const step = PlanJob.prototype.step;
    const started = new WeakSet<PlanJob>();
    PlanJob.prototype.step = function (this: PlanJob, units: number): number {
      if (!started.has(this)) {
        started.add(this);
        jobs++;
      }
      return step.call(this, units);
    };
    try {
      for (let round = 0; round < 60 && agents.some((a) => a.received.length === 0); round++) {
        if (round < agents.length) agents[round]!.connect(c);
        for (let p = 0; p < 2 && c.hub.hasWork(); p++) c.run(c.hub.pump(clock.now, 64));
        log.propose(applyCmd(svc(`churn-${round}`)));
        c.catchUp();
      }
    } finally {
      PlanJob.prototype.step = step;
    }
  });
  t.ok(largest <= 1000, `no step past the budget (largest ${largest})`);
  const wholeVersions = new Set(agents.map((a) => a.received.find((p) => p.plan.baseVersion === null)?.plan.version));
  t.ok(wholeVersions.size <= 2, `the six agents' whole configurations came from ${wholeVersions.size} plan(s)`);
  t.ok(jobs <= 12, `${jobs} plan jobs in all`);
  settle([c]);
  for (const a of agents) t.equal(a.config.version, log.truth.revision(), `${a.id} holds the newest version once the changes stop`);
});

void t.test('a stream joins or keeps a plan being made to an older version, never to the version it rejected', async (t) => {
  const { sm, planner, v1 } = stage(3000);
  const fresh = new FreshPlans(planner, 500);
  fresh.startPump();
  t.equal(fresh.plan(1, null, v1, true), null, 'stream 1: a whole plan to v1, begun');
  applyTo(sm, services('late', 1));
  const v2 = planner.target(agent, state(sm))!;
  fresh.startPump();
  t.equal(fresh.plan(2, null, v2, true), null, 'stream 2 joins the job to v1');
  t.equal(fresh.plan(3, null, v2, true, v1.version), null, 'stream 3 rejected v1: it waits for a job of its own');
  t.equal(fresh.plan(1, null, v2, true), null, 'stream 1 keeps its job to v1');
  const got = new Map<number, number>();
  for (let pump = 0; pump < 100 && got.size < 3; pump++) {
    for (const stream of fresh.startPump()) {
      const planned = fresh.plan(stream, null, v2, true, stream === 3 ? v1.version : null);
      if (planned !== null) got.set(stream, planned.target.version);
    }
  }
  t.same(
    [...got].sort((a, b) => a[0] - b[0]),
    [
      [1, v1.version],
      [2, v1.version],
      [3, v2.version],
    ],
    'streams 1 and 2 are sent v1 (the next push catches up), stream 3 v2',
  );
});
