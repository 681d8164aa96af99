/**
 * Whole-cluster simulations of the membership layer on simulated time (membership-sim.ts): every
 * node runs the production MembershipDriver and engine; pings and pongs cross a network with
 * 50-200 ms of jitter per message, and faults (kill, SIGSTOP, isolation, one-way and two-way
 * link cuts, isolating the leader) follow a schedule drawn from a seeded rng. Every result
 * names the seed that replays it.
 */
import t from 'tap';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { Checker, max, percentile, runWithSampling } from './checker.js';
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

type FaultKind = 'kill' | 'pause' | 'isolate' | 'isolate-leader' | 'cut';
const FAULT_KINDS: readonly FaultKind[] = ['isolate-leader', 'kill', 'cut', 'pause', 'isolate'];

/**
 * One fault every 6-12 s, the kinds taken in turn (a kind that cannot be applied right now is
 * retried at the next slot), targets and durations drawn from `rng`. Faults stay within what
 * the cluster tolerates (`maxFaulty` failed nodes, `Sim.viableWith`).
 */
function scheduleFaults(sim: Sim, rng: Rng, endMs: number, maxFaulty: number, log: string[]): void {
  const faulty = new Set<string>();
  let turn = rng.int(0, FAULT_KINDS.length);
  const at = (time: number, fn: () => void): void => sim.at(time, fn);
  const later = (fn: () => void): void => at(sim.now + 3000 + rng.int(0, 10_000), fn);

  const nodeFault = (kind: FaultKind, target: string, apply: () => void, heal: () => void): boolean => {
    if (faulty.has(target) || sim.truth(target) !== 'online' || !sim.viableWith(target, [])) return false;
    faulty.add(target);
    apply();
    log.push(`t=${sim.now} ${kind} ${target}`);
    later(() => {
      heal();
      faulty.delete(target);
      log.push(`t=${sim.now} heal ${kind} ${target}`);
    });
    return true;
  };

  const tryFault = (kind: FaultKind): boolean => {
    const healthy = sim.ids.filter((id) => !faulty.has(id) && sim.truth(id) === 'online');
    const target = healthy[rng.int(0, healthy.length)];
    if (target === undefined) return false;
    switch (kind) {
      case 'kill':
        return faulty.size < maxFaulty && nodeFault(kind, target, () => sim.kill(target), () => sim.restart(target));
      case 'pause':
        return faulty.size < maxFaulty && nodeFault(kind, target, () => sim.pause(target), () => sim.resume(target));
      case 'isolate':
        return faulty.size < maxFaulty && nodeFault(kind, target, () => sim.isolate(target, true), () => sim.isolate(target, false));
      case 'isolate-leader': {
        const leader = sim.leader;
        return faulty.size < maxFaulty && nodeFault(kind, leader, () => sim.isolate(leader, true), () => sim.isolate(leader, false));
      }
      case 'cut': {
        // A directed cut (or both directions) between healthy nodes. Sparse, so that it stays
        // "one bad link" and never becomes a partial isolation: at most one cut link per node
        // in a 3-node cluster, two in larger ones.
        const perNode = sim.ids.length >= 5 ? 2 : 1;
        const peers = healthy.filter((p) => p !== target && sim.badLinks(p) < perNode);
        if (sim.badLinks(target) >= perNode || peers.length === 0) return false;
        const b = peers[rng.int(0, peers.length)]!;
        const both = rng.next() < 0.5;
        const cuts = both ? [`${target}>${b}`, `${b}>${target}`] : [`${target}>${b}`];
        if (!sim.viableWith(null, cuts)) return false;
        log.push(`t=${sim.now} cut ${cuts.join(' ')}`);
        for (const c of cuts) sim.cut(c.split('>')[0]!, c.split('>')[1]!, 1);
        later(() => {
          for (const c of cuts) sim.cut(c.split('>')[0]!, c.split('>')[1]!, -1);
          log.push(`t=${sim.now} heal ${cuts.join(' ')}`);
        });
        return true;
      }
    }
  };

  for (let time = 8000; time < endMs - 15_000; time += 6000 + rng.int(0, 6000)) {
    at(time, () => {
      if (tryFault(FAULT_KINDS[turn % FAULT_KINDS.length]!)) turn++;
    });
  }
}

/**
 * The status targets of the contract (docs/fault-injection.md), asserted here on simulated time,
 * which no machine load can disturb: accuracy >= 99.9 % (rows within the convergence budget of
 * a change excused) and p99 convergence <= 3 s at base_timeout 2 s, <= 1.5 s at 500 ms, from 3
 * to 11 nodes. The seeds are fixed, listed here and printed with every result.
 */
const TARGETS: ReadonlyArray<{ readonly n: number; readonly base: number; readonly seconds: number; readonly seeds: readonly number[] }> = [
  { n: 3, base: 2000, seconds: 300, seeds: [7, 8, 9] },
  { n: 5, base: 2000, seconds: 300, seeds: [11, 12] },
  { n: 5, base: 500, seconds: 180, seeds: [13, 14] },
  { n: 11, base: 2000, seconds: 180, seeds: [17] },
  { n: 11, base: 500, seconds: 90, seeds: [19] },
];
const MIN_ACCURACY = 0.999;

for (const { n, base, seconds, seeds } of TARGETS) {
  void t.test(`${n} nodes, base ${base}ms, random kills, pauses, isolations (leader too) and link cuts under jitter: answers match the ground truth and meet the status targets (seeds ${seeds.join(', ')})`, async (t) => {
    for (const seed of seeds) {
      const sim = new Sim({ n, seed, baseTimeoutMs: base, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
      const rng = seededRng(seed * 31);
      const log: string[] = [];
      const maxFaulty = Math.floor((n - 1) / 2) - (n >= 5 ? 1 : 0);
      scheduleFaults(sim, rng, seconds * 1000, Math.max(1, maxFaulty), log);
      const budget = base === 2000 ? 3000 : 1500;
      // Committing needs a leader: when the leader itself failed, an election (up to two election
      // timeouts in this model) comes first; then the leader's tick and a round trip.
      const commitBudget = budget + 2 * 1000 + 600;
      const checker = new Checker(sim, budget, commitBudget);
      runWithSampling(sim, checker, seconds * 1000);
      // The faults around the first problem, to read alongside it.
      const firstAt = Number(/^t=(\d+)/.exec(checker.problems[0] ?? '')?.[1] ?? 0);
      const near = log.filter((l) => Math.abs(Number(/^t=(\d+)/.exec(l)?.[1]) - firstAt) < 20_000);
      const replay = `(seed ${seed}; faults near the first problem: ${near.join('; ')})`;
      for (const kind of ['kill', 'pause', 'isolate', 'isolate-leader', 'cut']) t.ok(log.some((l) => l.includes(` ${kind} `)), `seed ${seed}: a ${kind} happened`);
      t.ok(checker.isolatedSamples > 0, `seed ${seed}: isolated nodes were checked too`);
      t.same(checker.problems.slice(0, 10), [], `seed ${seed}: no answer wrong beyond the convergence budget ${replay}`);
      const accuracy = checker.scoredRight / checker.scored;
      const p99 = percentile(checker.rowConvergence, 99);
      t.ok(accuracy >= MIN_ACCURACY, `seed ${seed}: status accuracy ${(accuracy * 100).toFixed(3)} % over ${checker.scored} answers (target ${MIN_ACCURACY * 100} %)`);
      t.ok(p99 <= budget, `seed ${seed}: p99 convergence ${p99} ms over ${checker.rowConvergence.length} changes (target ${budget} ms; max ${max(checker.rowConvergence)} ms)`);
      t.ok(max(checker.commitConvergence) <= commitBudget, `seed ${seed}: cluster state converged within ${commitBudget}ms: max ${max(checker.commitConvergence)}ms`);
      const wrongOrphans = sim.orphanDecisions.filter(({ d }) => d.status === 'offline' && sim.truth(d.id) === 'online');
      t.ok(sim.deposedLeaderTicks > 100, `seed ${seed}: isolated leaders kept deciding for ${sim.deposedLeaderTicks} samples`);
      t.same(wrongOrphans.slice(0, 5), [], `seed ${seed}: a leader cut off from the quorum never proposed its stale view`);
      t.ok(sim.syncEvents > 0, `seed ${seed}: the reconcilers audited divergences (${sim.syncEvents} events, ${sim.corrections.length} corrections)`);
      const wrongCorrections = sim.corrections.filter(({ d, truth }) => d.status !== truth);
      t.same(wrongCorrections.slice(0, 5).map(({ at, by, d }) => `t=${at} ${by}: ${d.id} ${d.status} (${d.reason}); faults: ${log.filter((l) => Math.abs(Number(/^t=(\d+)/.exec(l)?.[1]) - at) < 15_000).join('; ')}`), [], `seed ${seed}: no reconciler ever forwarded a correction against the truth of that moment`);
      // Counting every answer, also those inside a convergence window: with a fault every ~9 s
      // that still adds up to a few percent, far more faults than a real cluster sees.
      t.ok(checker.right / checker.samples >= 0.9, `seed ${seed}: raw accuracy ${(checker.right / checker.samples).toFixed(5)} over ${checker.samples} samples`);
      t.comment(`seed ${seed}: accuracy ${(accuracy * 100).toFixed(3)} %, convergence p50 ${percentile(checker.rowConvergence, 50)} p99 ${p99} max ${max(checker.rowConvergence)} ms, commits max ${max(checker.commitConvergence)} ms, leader changes ${sim.leaderChanges.length}`);
    }
  });
}

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

/**
 * The budget of docs/membership.md section 6 at 11 nodes. An offline verdict needs six of the
 * eleven detectors to time the member out (timeout base + 2 x RTT, about 2.5 s here); because
 * views are read forward (status-aggregator rule 4), it does not also wait for the sixth node's
 * observe tick and the push of its view (up to 250 ms under this jitter). Before rule 4 the same
 * seeds converged in 2.75-2.78 s at worst; now 2.60-2.63 s (seeds 1008-1013).
 */
void t.test('11 nodes, base 2000ms, 50-200 ms jitter: every healthy node shows a failed or isolated member (the leader too) offline within 2.65 s, and back within 0.6 s', async (t) => {
  const seed = 1008;
  const sim = new Sim({ n: 11, seed, baseTimeoutMs: 2000, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
  const rng = seededRng(seed * 7);
  const kinds = ['isolate', 'isolate-leader', 'kill', 'pause'] as const;
  const log: string[] = [];
  const endMs = 240_000;
  for (let i = 0, time = 8000; time < endMs - 12_000; i++, time += 9000 + rng.int(0, 3000)) {
    const kind = kinds[i % kinds.length]!;
    const lasts = 4000 + rng.int(0, 2000);
    sim.at(time, () => {
      const followers = sim.ids.filter((id) => id !== sim.leader);
      const target = kind === 'isolate-leader' ? sim.leader : followers[rng.int(0, followers.length)]!;
      log.push(`t=${sim.now} ${kind} ${target}`);
      if (kind === 'kill') sim.kill(target);
      else if (kind === 'pause') sim.pause(target);
      else sim.isolate(target, true);
      sim.at(sim.now + lasts, () => {
        if (kind === 'kill') sim.restart(target);
        else if (kind === 'pause') sim.resume(target);
        else sim.isolate(target, false);
      });
    });
  }
  const checker = new Checker(sim, 3000, 3000 + 2 * 1000 + 600);
  runWithSampling(sim, checker, endMs, 25);
  const offline = checker.rowChanges.filter((c) => c.to === 'offline').map((c) => c.ms);
  const online = checker.rowChanges.filter((c) => c.to === 'online').map((c) => c.ms);
  const show = (xs: readonly number[]): string => `p50 ${Math.round(percentile(xs, 50))} p99 ${Math.round(percentile(xs, 99))} max ${Math.round(max(xs))} ms`;
  const replay = `(seed ${seed}; faults: ${log.slice(0, 4).join('; ')} ...)`;
  t.same(checker.problems.slice(0, 5), [], `no answer wrong beyond 3 s ${replay}`);
  t.ok(offline.length >= 18 && online.length >= 18, `${offline.length} offline and ${online.length} online changes measured (seed ${seed})`);
  t.ok(max(offline) <= 2650, `offline everywhere within 2650 ms: ${show(offline)} (seed ${seed})`);
  t.ok(max(online) <= 600, `online again everywhere within 600 ms: ${show(online)} (seed ${seed})`);
  // Pushes ride on top of the regular rounds (11 nodes, every 250 ms): a handful per fault.
  const regular = (11 * 240_000) / 250;
  t.ok(sim.pingRounds < regular * 1.05, `${sim.pingRounds} ping rounds, ${regular} of them regular`);
});
