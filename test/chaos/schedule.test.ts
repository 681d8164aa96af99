/** Schedules are reproducible from their seed and leave room to detect, heal and recover. */
import t from 'tap';
import { warmUpBudgetMs } from '../../chaos/runner.js';
import { SCENARIOS, describeAction, makeSchedule, scenarioNamed } from '../../chaos/scenarios.js';

const REQUIRED = ['jitter', 'isolate-follower', 'isolate-leader', 'kill-leader', 'pause-node', 'partition-majority', 'asymmetric', 'bridge', 'large-cluster', 'membership-churn'];

void t.test('every scenario of the contract exists', async (t) => {
  for (const name of REQUIRED) t.ok(scenarioNamed(name), name);
  t.equal(scenarioNamed('large-cluster')?.defaultNodes, 11, 'large-cluster runs 11 nodes');
});

void t.test('the same seed gives the same plan, another seed another plan', async (t) => {
  for (const s of SCENARIOS) {
    const p = { nodes: s.defaultNodes, durationMs: 60000, graceMs: 1500 };
    const a = makeSchedule(s, 7, p);
    const b = makeSchedule(s, 7, p);
    t.same(a, b, `${s.name}: seed 7 twice`);
    if (s.name !== 'jitter') t.not(JSON.stringify(makeSchedule(s, 8, p).faults), JSON.stringify(a.faults), `${s.name}: seed 8 differs`);
  }
});

void t.test('faults fit the run: they start after warm-up and heal a unit before the end', async (t) => {
  for (const s of SCENARIOS) {
    for (const [durationMs, graceMs] of [[20000, 1500], [60000, 1500], [60000, 3000]] as const) {
      for (let seed = 1; seed <= 20; seed++) {
        const sched = makeSchedule(s, seed, { nodes: s.defaultNodes, durationMs, graceMs });
        const unit = Math.max(1000, graceMs);
        const bad = sched.faults.filter((f) => f.atMs < unit / 2 - 1 || f.atMs + f.durationMs > durationMs - unit + 1 || f.durationMs <= 0);
        if (bad.length > 0 || sched.faults.length === 0) {
          t.fail(`${s.name} seed ${seed} ${durationMs}ms: ${sched.faults.length} faults, misplaced: ${JSON.stringify(bad)}`);
          return;
        }
      }
    }
  }
  t.pass('every scenario, 20 seeds, three lengths');
});

void t.test('single-track scenarios never overlap their faults', async (t) => {
  for (const name of ['isolate-follower', 'isolate-leader', 'kill-leader', 'pause-node', 'partition-majority', 'asymmetric']) {
    const s = scenarioNamed(name)!;
    const sched = makeSchedule(s, 3, { nodes: s.defaultNodes, durationMs: 60000, graceMs: 1500 });
    for (let i = 1; i < sched.faults.length; i++) {
      const prev = sched.faults[i - 1]!;
      t.ok(sched.faults[i]!.atMs >= prev.atMs + prev.durationMs + 1500, `${name}: fault ${i} starts after a gap`);
    }
    t.ok(sched.faults.every((f) => f.durationMs >= 3000), `${name}: every fault lasts two grace windows`);
  }
});

void t.test('asymmetric cycles through every one-way fault; churn storms during replacements', async (t) => {
  const asym = makeSchedule(scenarioNamed('asymmetric')!, 1, { nodes: 5, durationMs: 90000, graceMs: 1500 });
  t.same(new Set(asym.faults.map((f) => f.action.kind)), new Set(['cut-out', 'cut-in', 'cut-link']));
  const churn = makeSchedule(scenarioNamed('membership-churn')!, 1, { nodes: 5, durationMs: 60000, graceMs: 1500 });
  const kinds = churn.faults.map((f) => f.action.kind);
  t.ok(kinds.includes('member-replace') && kinds.includes('transfer-storm') && kinds.includes('isolate'), kinds.join(','));
  t.ok(describeAction(churn.faults[0]!.action).length > 0);
});

void t.test('the start-up budget is 60 s up to 5 nodes and grows by 10 s a node beyond', async (t) => {
  t.equal(warmUpBudgetMs(3), 60_000);
  t.equal(warmUpBudgetMs(5), 60_000);
  t.equal(warmUpBudgetMs(11), 120_000);
});
