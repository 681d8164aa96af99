/**
 * A member removed and added again starts with an empty data dir: until it has replayed the
 * log it knows no member. Its peers ping it from the moment it runs; it refused their views
 * ("not a member") until its replay was done, so the cluster read it offline for as long as
 * the replay took (1.0-1.8 s after it answered, in a chaos run on a loaded host, past the 1.5 s
 * budget at base 500 ms). It now answers them while it replays. On simulated time
 * (membership-sim.ts, every node running the production driver); seed fixed and printed.
 */
import t from 'tap';
import { seededRng } from '../../src/util/rng.js';
import { Checker, max, percentile, runWithSampling } from './checker.js';
import { Sim } from './membership-sim.js';
import { decodeHeartbeat, encodeHeartbeat } from '../../src/membership/view-codec.js';
import { ViewDecodeError } from '../../src/membership/errors.js';

void t.test('5 nodes, base 500ms, 50-200 ms jitter: a member that starts again empty is shown online everywhere within the budget while it still replays the log', async (t) => {
  const seed = 2026;
  const base = 500;
  const budgetMs = 1500;
  const sim = new Sim({ n: 5, seed, baseTimeoutMs: base, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
  const rng = seededRng(seed * 7);
  const log: string[] = [];
  const replays: number[] = [];
  const endMs = 120_000;
  for (let time = 8000; time < endMs - 10_000; time += 8000 + rng.int(0, 3000)) {
    const down = 2000 + rng.int(0, 2000);
    // Longer than the budget: before the fix every one of them was read offline past it.
    const replayMs = 1600 + rng.int(0, 1400);
    sim.at(time, () => {
      const followers = sim.ids.filter((id) => id !== sim.leader);
      const target = followers[rng.int(0, followers.length)]!;
      log.push(`t=${sim.now} kill ${target}, back empty after ${down} ms, replaying for ${replayMs} ms`);
      sim.kill(target);
      sim.at(sim.now + down, () => {
        replays.push(replayMs);
        sim.restart(target, replayMs);
      });
    });
  }
  const checker = new Checker(sim, budgetMs, budgetMs + 2 * 1000 + 600);
  // Sampled every 100 ms: measured to a tenth of a second against a 1.5 s budget (every 25 ms the
  // file took 7-8 s of CPU, three times as long, for the same verdicts).
  runWithSampling(sim, checker, endMs, 100);
  const online = checker.rowChanges.filter((c) => c.to === 'online').map((c) => c.ms);
  const show = (xs: readonly number[]): string => `p50 ${Math.round(percentile(xs, 50))} p99 ${Math.round(percentile(xs, 99))} max ${Math.round(max(xs))} ms`;
  const replay = `(seed ${seed}; faults: ${log.slice(0, 3).join('; ')} ...)`;
  t.ok(replays.length >= 8 && Math.min(...replays) > budgetMs, `${replays.length} members came back empty, each replaying longer than the budget (${Math.min(...replays)}-${Math.max(...replays)} ms)`);
  t.ok(online.length >= replays.length, `${online.length} online changes measured (one per return)`);
  t.same(checker.problems.slice(0, 5), [], `no answer wrong beyond ${budgetMs} ms ${replay}`);
  t.ok(max(online) <= budgetMs, `online again everywhere within ${budgetMs} ms, replay or not: ${show(online)} ${replay}`);
});

void t.test('while it replays, a ping from a peer it does not know yet is still decoded: a malformed one is refused, a well-formed one answered with its view', async (t) => {
  const sim = new Sim({ n: 3, seed: 7, baseTimeoutMs: 500, dynamic: true, jitter: [0, 0], electionTimeoutMs: 1000 });
  sim.runUntil(3000);
  const [a, b] = sim.ids as [string, string];
  sim.kill(b);
  sim.restart(b, 5000);
  const replaying = sim.node(b).driver;
  t.throws(() => replaying.onHeartbeat(a, new Uint8Array([0x4d, 0x56, 0xff])), ViewDecodeError, 'a payload with an unknown version: refused');
  t.throws(() => replaying.onHeartbeat(a, new Uint8Array(0)), ViewDecodeError, 'an empty payload: refused');
  const ping = encodeHeartbeat({ view: { reporter: a, incarnation: 1, seq: 1, connected: true, appliedIndex: 10, version: null, entries: [] }, relayed: [] });
  const pong = decodeHeartbeat(replaying.onHeartbeat(a, ping));
  t.equal(pong.view.reporter, b, 'a well-formed ping: answered with the replaying node\'s own view');
});

/**
 * A member cut off from a quorum shows each member by its own word (its view's `connected`) when
 * that view still reaches it. A member back empty knows no voter while it replays, so it said
 * it was not connected though its leader replicated the log to it: the cut-off member showed it
 * offline for as long as the replay took. Its leader's contact is its contact with the cluster.
 */
void t.test('a member cut off from a quorum shows a member that replays online, as its leader reaches it', async (t) => {
  const seed = 31;
  const sim = new Sim({ n: 5, seed, baseTimeoutMs: 500, dynamic: true, jitter: [0, 0], electionTimeoutMs: 1000 });
  sim.runUntil(4000);
  const followers = sim.ids.filter((id) => id !== sim.leader);
  const [joiner, cutOff] = followers as [string, string];
  const rest = sim.ids.filter((id) => id !== joiner && id !== cutOff);
  // cutOff hears only joiner: two of five, no quorum.
  sim.bridge([cutOff], rest, true);
  sim.runUntil(7000);
  t.ok(sim.stale(cutOff), `${cutOff} is cut off from a quorum (seed ${seed})`);
  sim.kill(joiner);
  sim.runUntil(8000);
  sim.restart(joiner, 6000);
  const rowOf = (): ReturnType<Sim['rowsAt']>[number] | undefined => sim.rowsAt(cutOff).find((r) => r.id === joiner);
  const offline: number[] = [];
  for (let at = 10_000; at < 13_500; at += 100) {
    sim.runUntil(at);
    if (rowOf()?.online !== true) offline.push(at);
  }
  t.ok(sim.now < sim.node(joiner).replayingUntil, `${joiner} still replays (until ${sim.node(joiner).replayingUntil} ms)`);
  t.equal(rowOf()?.basis, 'peer-connected', `${cutOff} shows ${joiner} by its own word`);
  t.same(offline, [], `${cutOff} shows ${joiner} online from 2 s after it started, while it replays (seed ${seed})`);
  t.ok(sim.stale(joiner), `${joiner}'s own answers still say stale while it replays: its records are the past`);
});

/**
 * The other side of it: a leader cut off from its quorum with a member that replays still
 * replicates to it until a new leader is elected (check-quorum: one to two election timeouts), so
 * its messages alone kept the replaying member saying it was connected that long, and the cut-off
 * leader showed it online past the budget (1.7-2.2 s after the cut over seeds 1-6). The leader's
 * own word counts: its fresh view must say it is connected.
 */
void t.test('a leader cut off with a member that replays shows it offline within the budget, as it would any member on its side', async (t) => {
  const seed = 2;
  const budgetMs = 1500;
  const sim = new Sim({ n: 5, seed, baseTimeoutMs: 500, dynamic: true, jitter: [0, 0], electionTimeoutMs: 1000 });
  sim.runUntil(4000);
  const leader = sim.leader;
  const joiner = sim.ids.find((id) => id !== leader)!;
  const rest = sim.ids.filter((id) => id !== leader && id !== joiner);
  sim.kill(joiner);
  sim.runUntil(5000);
  sim.restart(joiner, 60_000);
  sim.runUntil(8000);
  const rowOf = (): ReturnType<Sim['rowsAt']>[number] | undefined => sim.rowsAt(leader).find((r) => r.id === joiner);
  t.equal(rowOf()?.online, true, `${leader} shows ${joiner} online while it replays, before the cut`);
  sim.bridge([leader, joiner], rest, true);
  const cutAt = sim.now;
  const onlineAt: number[] = [];
  for (let at = cutAt + 100; at <= cutAt + 4000; at += 100) {
    sim.runUntil(at);
    if (rowOf()?.online === true) onlineAt.push(at - cutAt);
  }
  t.ok(sim.now < sim.node(joiner).replayingUntil, `${joiner} still replays`);
  t.not(sim.leader, leader, `a new leader was elected on the other side (${sim.leader})`);
  t.ok(onlineAt.every((ms) => ms <= budgetMs), `${leader} shows ${joiner} offline within ${budgetMs} ms of the cut: online at ${onlineAt.join(', ')} ms (seed ${seed})`);
});

/**
 * And the leader's messages reaching a member that replays say nothing of the member's reaching
 * anyone: here they reach it while its own reach only the cut-off member. It said it was
 * connected, and the cut-off member showed it online for as long as that lasted, though no quorum
 * hears it. The leader's view must show it online too (the leader hears its pongs).
 */
void t.test('a member that replays, heard by the leader no more, is shown offline by a cut-off member it still reaches', async (t) => {
  const seed = 31;
  const sim = new Sim({ n: 5, seed, baseTimeoutMs: 500, dynamic: true, jitter: [0, 0], electionTimeoutMs: 1000 });
  sim.runUntil(4000);
  const [joiner, cutOff] = sim.ids.filter((id) => id !== sim.leader) as [string, string];
  const rest = sim.ids.filter((id) => id !== joiner && id !== cutOff);
  sim.bridge([cutOff], rest, true);
  sim.kill(joiner);
  sim.runUntil(6000);
  sim.restart(joiner, 30_000);
  // The leader's messages reach the joiner; the joiner's reach only the cut-off member.
  sim.oneWay([joiner], rest, true);
  const online: number[] = [];
  for (let at = 7500; at < 12_000; at += 100) {
    sim.runUntil(at);
    if (sim.rowsAt(cutOff).find((r) => r.id === joiner)?.online !== false) online.push(at);
  }
  t.equal(sim.truth(joiner), 'offline', `no quorum hears ${joiner}`);
  t.ok(sim.stale(cutOff), `${cutOff} is cut off from a quorum`);
  t.same(online, [], `${cutOff} shows ${joiner} offline throughout (seed ${seed})`);
});
