/**
 * The membership simulations at 11 nodes (membership-sim.ts, every node running the production
 * driver): the status targets under random kills, pauses, isolations (the leader's too) and link
 * cuts. Seeds fixed and printed. The convergence budget at 11 nodes: convergence-budget.test.ts.
 */
import t from 'tap';
import { testTargets, type TargetRun } from './fault-schedule.js';

const TARGETS: readonly TargetRun[] = [
  { n: 11, base: 2000, seconds: 180, seeds: [17] },
  { n: 11, base: 500, seconds: 90, seeds: [19] },
];

for (const run of TARGETS) testTargets(t, run);
