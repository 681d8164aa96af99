/**
 * Jitter alone must never produce a false offline transition (docs/membership.md, section 1):
 * long runs on simulated time (membership-sim.ts), every node running the production driver,
 * pings and pongs with 50-200 ms of jitter each, no fault at all. Seeds are fixed and printed.
 */
import t from 'tap';
import { Checker, runWithSampling } from './checker.js';
import { Sim } from './membership-sim.js';

for (const [base, dynamic, minutes, n] of [
  [2000, true, 30, 5],
  [2000, false, 10, 3],
  [500, true, 10, 5],
  [500, false, 10, 3],
] as const) {
  void t.test(`jitter alone (50-200 ms) causes no offline transition: ${n} nodes, base ${base}ms, dynamic ${dynamic}, ${minutes} simulated minutes`, async (t) => {
    const seed = 1000 + base + n;
    const sim = new Sim({ n, seed, baseTimeoutMs: base, dynamic, jitter: [50, 200], electionTimeoutMs: 1000 });
    const checker = new Checker(sim, 0, 0);
    runWithSampling(sim, checker, minutes * 60_000, 500);
    const transitions = sim.ids.reduce((s, id) => s + sim.node(id).offlineTransitions, 0);
    t.equal(transitions, 0, `no detector ever timed a peer out (seed ${seed})`);
    t.same(checker.problems.slice(0, 5), [], 'every row and every committed status stayed online');
    t.equal(checker.right, checker.samples, `${checker.samples} samples all right`);
    t.ok(checker.samples > minutes * 120 * n * n * 0.9, 'sampled throughout');
    t.same(sim.leaderChanges, [], 'no leader change either');
  });
}

