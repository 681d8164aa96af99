/**
 * Partial partitions on simulated time (membership-sim.ts, every node running the production
 * membership driver): bridges (two sides that cannot hear each other, one node hearing both;
 * the leader as the bridge, and a follower), and one-way cuts (a node nobody hears, a node that
 * hears nobody, a group whose messages do not reach the rest). Judged against the definition
 * of online (Sim.truth): a member is online when a quorum of voters, itself included, hears it.
 * Asserted, on fixed seeds printed with every result: no non-stale answer is wrong outside the
 * convergence budget, no two non-stale nodes contradict each other there, and the status
 * targets hold (accuracy >= 99.9 %, p99 convergence <= 3 s at base 2 s, <= 1.5 s at 500 ms).
 * The committed-state rule is scored on the same rows for comparison (docs/membership.md).
 */
import t from 'tap';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { Checker, max, percentile, runWithSampling } from './checker.js';
import { Sim } from './membership-sim.js';

type PartialFault = 'bridge-leader' | 'bridge-follower' | 'one-way-in' | 'one-way-out' | 'one-way-group';
const KINDS: readonly PartialFault[] = ['bridge-leader', 'one-way-in', 'bridge-follower', 'one-way-out', 'one-way-group'];

/** One partial partition at a time, every 9-15 s, lasting 5-9 s; the kinds in turn. */
function schedulePartitions(sim: Sim, rng: Rng, endMs: number, log: string[]): void {
  let turn = 0;
  for (let time = 8000; time < endMs - 12_000; time += 9000 + rng.int(0, 6000)) {
    const kind = KINDS[turn++ % KINDS.length]!;
    const lasts = 5000 + rng.int(0, 4000);
    sim.at(time, () => {
      const leader = sim.leader;
      const followers = sim.ids.filter((id) => id !== leader);
      const shuffled = [...followers].sort(() => rng.next() - 0.5);
      let heal: () => void;
      switch (kind) {
        case 'bridge-leader': {
          const half = Math.ceil(shuffled.length / 2);
          const [a, b] = [shuffled.slice(0, half), shuffled.slice(half)];
          sim.bridge(a, b, true);
          log.push(`t=${sim.now} bridge-leader ${leader}: ${a.join(',')} | ${b.join(',')}`);
          heal = () => sim.bridge(a, b, false);
          break;
        }
        case 'bridge-follower': {
          const bridge = shuffled[0]!;
          const rest = [leader, ...shuffled.slice(1)];
          const half = Math.ceil(rest.length / 2);
          const [a, b] = [rest.slice(0, half), rest.slice(half)];
          sim.bridge(a, b, true);
          log.push(`t=${sim.now} bridge-follower ${bridge}: ${a.join(',')} | ${b.join(',')}`);
          heal = () => sim.bridge(a, b, false);
          break;
        }
        case 'one-way-in': {
          const x = shuffled[0]!;
          sim.oneWay(sim.ids, [x], true);
          log.push(`t=${sim.now} one-way-in ${x} (hears nobody)`);
          heal = () => sim.oneWay(sim.ids, [x], false);
          break;
        }
        case 'one-way-out': {
          const x = shuffled[0]!;
          sim.oneWay([x], sim.ids, true);
          log.push(`t=${sim.now} one-way-out ${x} (nobody hears it)`);
          heal = () => sim.oneWay([x], sim.ids, false);
          break;
        }
        case 'one-way-group': {
          const size = Math.floor((sim.ids.length - 1) / 2);
          const group = [...sim.ids].sort(() => rng.next() - 0.5).slice(0, size);
          const rest = sim.ids.filter((id) => !group.includes(id));
          sim.oneWay(group, rest, true);
          log.push(`t=${sim.now} one-way-group ${group.join(',')} -/-> ${rest.join(',')}`);
          heal = () => sim.oneWay(group, rest, false);
          break;
        }
      }
      sim.at(sim.now + lasts, () => {
        heal();
        log.push(`t=${sim.now} heal`);
      });
    });
  }
}

const RUNS: ReadonlyArray<{ readonly n: number; readonly base: number; readonly seconds: number; readonly seed: number }> = [
  { n: 3, base: 2000, seconds: 240, seed: 31 },
  { n: 5, base: 2000, seconds: 240, seed: 32 },
  { n: 5, base: 500, seconds: 150, seed: 33 },
  { n: 11, base: 2000, seconds: 120, seed: 34 },
];

for (const { n, base, seconds, seed } of RUNS) {
  void t.test(`${n} nodes, base ${base}ms, bridges (leader and follower) and one-way partitions under 50-200 ms jitter: one answer from every non-stale node, right within the targets (seed ${seed})`, async (t) => {
    const sim = new Sim({ n, seed, baseTimeoutMs: base, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
    const log: string[] = [];
    schedulePartitions(sim, seededRng(seed * 17), seconds * 1000, log);
    const budget = base === 2000 ? 3000 : 1500;
    const commitBudget = budget + 2 * 1000 + 600;
    const checker = new Checker(sim, budget, commitBudget);
    runWithSampling(sim, checker, seconds * 1000);
    const firstAt = Number(/^t=(\d+)/.exec(checker.problems[0] ?? checker.contradictionSamples[0] ?? '')?.[1] ?? 0);
    const replay = `(seed ${seed}; faults near the first problem: ${log.filter((l) => Math.abs(Number(/^t=(\d+)/.exec(l)?.[1]) - firstAt) < 15_000).join('; ')})`;
    for (const kind of KINDS) t.ok(log.some((l) => l.includes(` ${kind} `)), `seed ${seed}: a ${kind} happened`);
    t.same(checker.problems.slice(0, 10), [], `seed ${seed}: no non-stale answer wrong beyond the convergence budget ${replay}`);
    t.equal(checker.contradictions, 0, `seed ${seed}: no two non-stale nodes contradicted each other outside the convergence window ${checker.contradictionSamples.slice(0, 3).join('; ')} ${replay}`);
    const accuracy = checker.scoredRight / checker.scored;
    const p99 = percentile(checker.rowConvergence, 99);
    t.ok(accuracy >= 0.999, `seed ${seed}: status accuracy ${(accuracy * 100).toFixed(3)} % over ${checker.scored} non-stale answers (${checker.staleAnswers} stale ones left out)`);
    t.ok(p99 <= budget, `seed ${seed}: p99 convergence ${p99} ms over ${checker.rowConvergence.length} changes (target ${budget} ms; max ${max(checker.rowConvergence)} ms)`);
    t.ok(max(checker.commitConvergence) <= commitBudget, `seed ${seed}: the committed state converged within ${commitBudget} ms: max ${max(checker.commitConvergence)} ms`);
    const c = checker.committedRule;
    t.comment(
      `seed ${seed}: online by the quorum verdict: accuracy ${(accuracy * 100).toFixed(3)} %, convergence p50 ${percentile(checker.rowConvergence, 50)} p99 ${p99} max ${max(checker.rowConvergence)} ms; ` +
        `by the committed state: accuracy ${((c.right / c.scored) * 100).toFixed(3)} %, convergence p50 ${percentile(c.convergence, 50)} p99 ${percentile(c.convergence, 99)} max ${max(c.convergence)} ms`,
    );
  });
}
