/**
 * The lost-disk fault (issue 10): the simulation's schedules, with the identity layer run as
 * production runs it (sim-identity.ts), now also wipe a member's disk, durable state and all. The
 * member restarts empty through the production start-up decision, asking the peers it can
 * reach: it joins or is refused (then rebuilt as an operator would: removed, added back, started
 * empty to join), or, when no peer answers, writes a bootstrap entry of its own, which the
 * peers' acceptance checks must keep from harming the cluster. The initial members create the
 * cluster through the same decision. Raft's safety invariants are checked after every event, and
 * liveness once the faults heal.
 */
import t from 'tap';
import { emptyStats, STAT_NAMES, type StatName } from './cluster.js';
import { DEFAULT_RUN, formatFailure, replayCommand, runSeed, type RunOptions, type SimResult } from './run.js';

const FIRST_SEED = 1;
const SEEDS = 500;
const WITH_IDENTITY: RunOptions = { ...DEFAULT_RUN, identity: true };

const totals = emptyStats();

void t.test(`${SEEDS} seeded schedules with lost disks keep every Raft invariant and recover`, async (t) => {
  const failed: SimResult[] = [];
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = runSeed(seed, WITH_IDENTITY);
    for (const k of STAT_NAMES) totals[k] += r.stats[k];
    if (!r.ok) failed.push(r);
  }
  const first = failed[0];
  t.equal(
    failed.length,
    0,
    first ? `${failed.length} of ${SEEDS} seeds failed (${failed.map((r) => r.seed).join(', ')})\n${formatFailure(first)}` : `seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1} passed`,
  );
});

void t.test('the schedules lose disks, refuse and rebuild members, and refuse messages', async (t) => {
  // Lower bounds well under what the seeds produce today (about twice as much), so a schedule
  // change that stops exercising the fault fails here rather than making the run above vacuous.
  const atLeast: ReadonlyArray<[StatName, number]> = [
    ['disksLost', 100],
    ['lostDisksBootstrapped', 15],
    ['refusedStarts', 120],
    ['rebuilds', 90],
    ['identityRefusals', 400],
    ['acked', 3000],
    ['crashes', 2000],
    ['snapshotsInstalled', 250],
  ];
  for (const [k, min] of atLeast) t.ok(totals[k] >= min, `${k}: ${totals[k]} over ${SEEDS} seeds (at least ${min})`);
});

void t.test('with the identity checks planted out, a lost disk loses committed entries and the seed names itself', async (t) => {
  const opts: RunOptions = { ...WITH_IDENTITY, identityChecksOff: true };
  let caught: SimResult | null = null;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS && caught === null; seed++) {
    const r = runSeed(seed, opts);
    if (!r.ok && r.invariant !== 'liveness') caught = r;
  }
  t.ok(caught, `some seed of ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1} breaks a safety invariant without the checks`);
  if (!caught) return;
  t.match(caught.invariant, /leader-completeness|election-safety|acknowledged-write-lost|state-machine-safety|log-matching|durable-before-send/, `seed ${caught.seed}: ${caught.failure?.split('\n')[0]}`);
  t.match(formatFailure(caught), replayCommand(caught.seed, true), 'the report gives the command that replays it');
  const replay = runSeed(caught.seed, { ...opts, traceKeep: Number.POSITIVE_INFINITY });
  t.match(replay.trace.join('\n'), /DISK LOST[\s\S]*start-up: bootstrap[\s\S]*FAILED/, 'a member that lost its disk bootstrapped anew, then the invariant broke');
  t.ok(runSeed(caught.seed, WITH_IDENTITY).ok, `seed ${caught.seed} passes with the checks`);
});

void t.test('seed 60422, where rule 7 was found (a lost member that bootstrapped while isolated, elected by a laggard that knew the cluster id), keeps every invariant', async (t) => {
  // Before rule 7 this seed broke leader-completeness: c3's log never got past the creation, it
  // had heard the cluster id from c2, and it voted for the replacement of c1's lost data dir.
  // Since pre-candidates step back for each other and late grants count (raft.ts, maybeYield and
  // lateVote), elections end sooner and this seed's schedule no longer reaches that case (n1
  // loses its disk but is answered when it starts again); what it still checks is that it
  // keeps every invariant. Rule 7 itself: test/identity/acceptance.test.ts.
  const r = runSeed(60422, WITH_IDENTITY);
  t.ok(r.ok, r.failure ?? 'seed 60422 keeps every invariant');
});

void t.test("liveness: a restart is not proven a copy by its crashed process's late messages (seed 566)", async (t) => {
  // n3 crashed mid-campaign and restarted; a partition held the crashed process's messages and
  // released them over more than the hold, beside the restart's: the restart was proven a second
  // process and refused for 30 holds, and never caught up. Those messages were at terms behind
  // the restart's (process-claims.ts).
  // The election changes since (raft.ts, maybeYield and lateVote) moved this seed's schedule
  // away from that release; the rule is tested in test/identity/process-claims.test.ts.
  const r = runSeed(566, WITH_IDENTITY);
  t.ok(r.ok, r.failure ?? 'seed 566 recovers');
});

void t.test('liveness: an election whose last grant arrives after the candidate timed out still elects it (seeds 71245, 71786)', async (t) => {
  // Both found no leader after the faults healed: the one voter that could win (71786: three of
  // four voters up, one of them the only complete log; 71245: two voters left) timed out while
  // its last grant was on the way (its own write, the round trip and the voter's write took
  // longer than its timeout), pre-voted again, dropped the grant, and lost the same race at the
  // next term, and the next. raft.ts, lateVote.
  for (const seed of [71245, 71786]) {
    const r = runSeed(seed, WITH_IDENTITY);
    t.ok(r.ok, r.failure ?? `seed ${seed} recovers`);
  }
});

void t.test('liveness: a member that knows it was recorded starts although a restarted peer answers from an older applied state (seed 63525)', async (t) => {
  // n1 lost its disk and bootstrapped alone (rule 6 keeps its vote); n2 and n3 were the quorum.
  // All three restarted at once: n2's applied state (13) lagged its commit index (24) and still
  // recorded n3's data dir from before n3 was rebuilt, so n3, which held every committed entry
  // and knew its record, was refused SUPERSEDED and no leader could ever be elected
  // (startup-decision.ts).
  const r = runSeed(63525, WITH_IDENTITY);
  t.ok(r.ok, r.failure ?? 'seed 63525 recovers');
});
