/**
 * Whole-cluster simulations of the membership layer on simulated time (membership-sim.ts): every
 * node runs the production MembershipDriver and engine; pings and pongs cross a network with
 * 50-200 ms of jitter per message, and faults (kill, SIGSTOP, isolation, one-way and two-way
 * link cuts, isolating the leader) follow a schedule drawn from a seeded rng. Every result
 * names the seed that replays it.
 */
import t from 'tap';
import { Checker, max, runWithSampling } from './checker.js';
import { testTargets, type TargetRun } from './fault-schedule.js';
import { Sim } from './membership-sim.js';

/** 3 and 5 nodes (11 nodes: large-simulation.test.ts). */
const TARGETS: readonly TargetRun[] = [
  { n: 3, base: 2000, seconds: 300, seeds: [7, 8, 9] },
  { n: 5, base: 2000, seconds: 300, seeds: [11, 12] },
  { n: 5, base: 500, seconds: 180, seeds: [13, 14] },
];

for (const run of TARGETS) testTargets(t, run);

void t.test('a paused node does not accuse its peers when it resumes', async (t) => {
  const sim = new Sim({ n: 3, seed: 5, baseTimeoutMs: 2000, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
  sim.at(10_000, () => sim.pause('c2'));
  sim.at(25_000, () => sim.resume('c2'));
  const checker = new Checker(sim, 3000, 3600);
  runWithSampling(sim, checker, 40_000);
  t.equal(sim.node('c2').offlineTransitions, 0, 'c2 saw nobody time out across its own 15 s pause');
  t.same(checker.problems, []);
  t.ok(max(checker.rowConvergence) <= 3000, `converged in ${max(checker.rowConvergence)}ms`);
  t.equal(sim.committed.get('c2')?.status, 'online', 'back online after resuming');
});

