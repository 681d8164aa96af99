/**
 * Chaos finding 3 (docs/fault-injection.md): an 11-node cluster on a starved machine stayed
 * leaderless for 18 s after a check-quorum step-down, while pre-votes were refused by leader
 * stickiness. Is that a liveness bug of the Raft core, or only starvation? These simulations
 * starve 11 in-process nodes the way a loaded machine does, on the deterministic core:
 *
 *  - a stalled process neither ticks nor reads its messages; they wait for it in order, and it
 *    runs its timers first when it resumes (Cluster.stalled);
 *  - a starved timer fires less often: each node misses a tick with some probability;
 *  - messages take 0..D ticks.
 *
 * Ticks are 100 ms (heartbeat 1 tick, election timeout 10 ticks, as raft.heartbeat_interval
 * 100ms and election_timeout 1s in the chaos runs). Safety invariants are checked after every
 * event by the Cluster itself. Every failure names the seed that replays it.
 */
import t from 'tap';
import type { NodeId } from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';
import { Cluster, type SimStats } from './cluster.js';
import { Trace } from './trace.js';

const ELECTION_TICKS = 10;
const VOTERS: readonly NodeId[] = Array.from({ length: 11 }, (_, i) => `n${i + 1}`);
const QUORUM = Math.floor(VOTERS.length / 2) + 1;

function cluster(seed: number, maxDelay: number): Cluster {
  return new Cluster({
    seed,
    voters: VOTERS,
    node: {
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      maxInflight: 8,
      maxMessageBytes: 1 << 20,
      maxApplyBytes: 1 << 20,
      snapshotEvery: 1000,
      snapshotTrailing: 5,
    },
    faults: { minDelay: 0, maxDelay, dropRate: 0, dupRate: 0 },
    loseUnsyncedRate: 0,
    trace: new Trace(40),
  });
}

/** A leader that a quorum of voters (itself included) follows in its term, or null. */
function followedLeader(c: Cluster): NodeId | null {
  const l = c.leader();
  if (l === null) return null;
  const term = l.status().term;
  const followers = VOTERS.filter((id) => {
    const n = c.get(id);
    return n.up && n.status().leader === l.id && n.status().term === term;
  });
  return followers.length >= QUORUM ? l.id : null;
}

void t.test('finding 3 on the core: a majority stalls, the leader steps down by check-quorum, every follower still believes in it, and a new leader follows within 2 election timeouts of the stall', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = cluster(seed, 1);
    while (followedLeader(c) === null) c.tick();
    for (let i = 0; i < 3 * ELECTION_TICKS; i++) c.tick();
    const old = followedLeader(c)!;
    const term = c.get(old).status().term;
    // Six of the ten followers stop for 2.5 election timeouts: the leader hears from 4 of 11.
    const stalled = new Set(VOTERS.filter((id) => id !== old).slice(0, 6));
    const until = c.now + 25;
    c.stalled = (id) => stalled.has(id) && c.now <= until;
    let steppedDownAt: number | null = null;
    while (c.now <= until) {
      c.tick();
      if (steppedDownAt === null && c.get(old).status().role !== 'leader') steppedDownAt = c.now;
    }
    c.tick();
    // The stalled six have just read the heartbeats that waited for them; the others heard
    // the leader until it stepped down. Stickiness now refuses every pre-vote for a while.
    const believers = VOTERS.filter((id) => id !== old && c.get(id).status().leader === old).length;
    let recoveredAt: number | null = null;
    for (let i = 0; i < 10 * ELECTION_TICKS && recoveredAt === null; i++) {
      c.tick();
      const l = followedLeader(c);
      if (l !== null && c.get(l).status().term > term) recoveredAt = c.now;
    }
    const after = recoveredAt === null ? null : recoveredAt - until;
    const where = `(seed ${seed}: leader ${old}, stall until ${until}, stepped down at ${steppedDownAt}, ${believers} believers, new leader ${after} ticks after the stall)`;
    t.ok(steppedDownAt !== null && steppedDownAt <= until, `the leader stepped down by check-quorum during the stall ${where}`);
    t.equal(believers, VOTERS.length - 1, `every follower still followed the old leader when the stall ended ${where}`);
    t.ok(after !== null && after <= 2 * ELECTION_TICKS, `a leader with a quorum within 2 election timeouts of the stall ${where}`);
  }
});

interface StarvationRun {
  /** Every leaderless stretch after the first election, in ticks. */
  readonly gaps: readonly number[];
  readonly stats: SimStats;
  readonly acked: number;
}

/**
 * `tickProbability`: how often a node's timer fires; `stallRate`: per node and tick, the chance
 * that it stalls for 1..maxStall ticks (a starved or stopped process).
 */
function starve(seed: number, o: { tickProbability: number; maxDelay: number; stallRate: number; maxStall: number; ticks: number }): StarvationRun {
  const rng = seededRng(seed * 7919 + 1);
  const c = cluster(seed, o.maxDelay);
  const stalledUntil = new Map<NodeId, number>();
  c.stalled = (id) => (stalledUntil.get(id) ?? -1) >= c.now;
  const gaps: number[] = [];
  let leaderless = 0;
  let elected = false;
  for (let step = 0; step < o.ticks; step++) {
    for (const id of VOTERS) if (!c.stalled(id) && rng.next() < o.stallRate) stalledUntil.set(id, c.now + rng.int(1, o.maxStall + 1));
    c.tick(() => rng.next() < o.tickProbability);
    const l = followedLeader(c);
    if (l === null) {
      leaderless++;
      continue;
    }
    if (elected && leaderless > 0) gaps.push(leaderless);
    elected = true;
    leaderless = 0;
    // A client writes through the leader every half second (never through a stalled process).
    if (step % 5 === 0 && !c.stalled(l)) c.propose('k', c.get(l));
  }
  if (leaderless > 0) gaps.push(leaderless);
  return { gaps, stats: c.stats, acked: c.clients.acked().length };
}

void t.test('11 starved nodes (a tick in five missed, 0-300 ms delays, each node stalled 1-2 s about every 10 s) always elect again within 8 election timeouts', async (t) => {
  const o = { tickProbability: 0.8, maxDelay: 3, stallRate: 0.01, maxStall: 20, ticks: 3000 };
  const all: number[] = [];
  for (let seed = 1; seed <= 8; seed++) {
    const r = starve(seed, o);
    all.push(...r.gaps);
    const worst = Math.max(0, ...r.gaps);
    t.ok(worst <= 8 * ELECTION_TICKS, `seed ${seed}: longest leaderless stretch ${worst} ticks (${r.gaps.length} stretches)`);
    t.ok(r.acked > o.ticks / 5 / 2, `seed ${seed}: writes kept committing (${r.acked} acknowledged)`);
  }
  all.sort((a, b) => a - b);
  t.ok(all.length > 20, `the stalls did depose leaders: ${all.length} leaderless stretches`);
  t.comment(`leaderless stretches: p50 ${all[Math.floor(all.length / 2)]} max ${all.at(-1)} ticks`);
});
