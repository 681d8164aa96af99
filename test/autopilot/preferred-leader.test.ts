/**
 * The preferred leader's hand-off: each condition, then a seeded model of a cluster whose
 * preferred member flaps, run through the health rule and the decision as the leader runs
 * them, to show there is no ping-pong and that leadership settles on the preferred member.
 */
import t from 'tap';
import { assessHealth, INITIAL_HEALTH_STATE, type HealthState } from '../../src/autopilot/health.js';
import {
  decidePreferredLeader,
  describePreferredLeader,
  INITIAL_PREFERRED_LEADER_STATE,
  type PreferredLeaderInput,
  type PreferredLeaderState,
} from '../../src/autopilot/preferred-leader.js';
import { seededRng } from '../../src/util/rng.js';

const SETTINGS = { preferred: 'c3', stableForMs: 10_000, minIntervalMs: 30_000 };

function input(over: Partial<PreferredLeaderInput> = {}): PreferredLeaderInput {
  return {
    now: 100_000,
    self: 'c1',
    isLeader: true,
    leaderSince: 0,
    commit: 50,
    candidate: { voter: true, healthy: true, stableSinceMono: 50_000, match: 50 },
    busy: false,
    settings: SETTINGS,
    ...over,
  };
}

const decide = (i: PreferredLeaderInput, state: PreferredLeaderState = INITIAL_PREFERRED_LEADER_STATE) => decidePreferredLeader(state, i);

void t.test('a healthy, stable, caught-up preferred voter gets leadership', async (t) => {
  const d = decide(input());
  t.equal(d.transferTo, 'c3');
  t.equal(d.state.lastAttemptAt, 100_000);
  t.equal(describePreferredLeader(d.verdict, 'c3'), 'handing leadership to c3');
});

void t.test('each condition holds the transfer back, and says why', async (t) => {
  const cases: Array<[string, PreferredLeaderInput, string]> = [
    ['no preferred leader', input({ settings: { ...SETTINGS, preferred: null } }), 'none'],
    ['this node is the preferred one', input({ self: 'c3' }), 'in-place'],
    ['not the leader', input({ isLeader: false }), 'not-leader'],
    ['not a member', input({ candidate: null }), 'not-member'],
    ['a learner', input({ candidate: { voter: false, healthy: true, stableSinceMono: 0, match: 50 } }), 'not-voter'],
    ['unhealthy', input({ candidate: { voter: true, healthy: false, stableSinceMono: 0, match: 50 } }), 'unhealthy'],
    ['healthy for too short', input({ candidate: { voter: true, healthy: true, stableSinceMono: 95_000, match: 50 } }), 'stabilizing'],
    ['behind the commit index', input({ candidate: { voter: true, healthy: true, stableSinceMono: 0, match: 49 } }), 'catching-up'],
    ['leading for less than the minimum interval', input({ leaderSince: 80_000 }), 'settling'],
    ['a transfer or membership change in progress', input({ busy: true }), 'busy'],
  ];
  for (const [what, i, verdict] of cases) {
    const d = decide(i);
    t.equal(d.transferTo, null, what);
    t.equal(d.verdict.verdict, verdict, what);
  }
  t.match(describePreferredLeader(decide(input({ leaderSince: 80_000 })).verdict, 'c3'), /waits 10s before handing leadership to c3/);
});

void t.test('after an attempt that did not take, the leader waits the minimum interval before the next', async (t) => {
  const first = decide(input());
  const soon = decide(input({ now: 110_000 }), first.state);
  t.equal(soon.transferTo, null);
  t.equal(soon.verdict.verdict, 'settling');
  const later = decide(input({ now: 130_000 }), first.state);
  t.equal(later.transferTo, 'c3', 'once the interval has passed');
});

void t.test('losing leadership forgets the last attempt (the next leader waits out its own leadership instead)', async (t) => {
  const first = decide(input());
  t.strictSame(decide(input({ isLeader: false }), first.state).state, INITIAL_PREFERRED_LEADER_STATE);
});

/**
 * A three-node cluster in 100 ms steps. c3 is preferred and goes up and down on a seeded
 * schedule; c1 and c2 stay up. The leader runs the health rule on what it observes and the
 * decision on that; a transfer to a live member takes one step, and a dead leader is replaced
 * by a random live voter after an election timeout.
 */
function runModel(seed: number, flap: (rng: () => number) => { upMs: number; downMs: number }, durationMs: number, settleMs: number) {
  const rng = seededRng(seed);
  const STEP = 100;
  const ELECTION = 1_000;
  const settings = { ...SETTINGS };
  let leader = 'c1';
  let leaderSince = 0;
  let health: HealthState = INITIAL_HEALTH_STATE;
  let pl: PreferredLeaderState = INITIAL_PREFERRED_LEADER_STATE;
  let c3Up = true;
  let c3Next = 0;
  let c3LastSeen = 0;
  let leaderlessSince: number | null = null;
  let pendingTransfer: string | null = null;
  const transfers: number[] = [];
  const leaderChanges: number[] = [];
  const setLeader = (id: string, now: number): void => {
    leader = id;
    leaderSince = now;
    health = INITIAL_HEALTH_STATE;
    pl = INITIAL_PREFERRED_LEADER_STATE;
    leaderChanges.push(now);
  };
  for (let now = 0; now <= durationMs + settleMs; now += STEP) {
    if (now >= c3Next) {
      if (now >= durationMs) {
        c3Up = true; // the flapping stops: c3 stays up
        c3Next = Number.POSITIVE_INFINITY;
      } else {
        const { upMs, downMs } = flap(() => rng.next());
        c3Up = !c3Up;
        c3Next = now + (c3Up ? upMs : downMs);
      }
    }
    if (c3Up) c3LastSeen = now;
    if (pendingTransfer !== null) {
      if (pendingTransfer === 'c3' && c3Up) setLeader('c3', now);
      pendingTransfer = null;
    }
    if (leader === 'c3' && !c3Up) {
      leaderlessSince ??= now;
      if (now - leaderlessSince >= ELECTION) {
        setLeader(rng.next() < 0.5 ? 'c1' : 'c2', now);
        leaderlessSince = null;
      }
      continue;
    }
    const seen = (id: string): boolean => (id === 'c3' ? c3Up : true);
    const assessed = assessHealth(health, {
      now,
      wallClockMs: now,
      leader: { id: leader, term: leaderChanges.length, lastIndex: 50, commit: 50 },
      members: ['c1', 'c2', 'c3'].map((id) => ({
        id,
        voter: true,
        online: seen(id),
        lastContactAt: id === 'c3' ? c3LastSeen : now,
        term: seen(id) ? leaderChanges.length : leaderChanges.length - 1,
        match: 50,
      })),
      settings: { lastContactThresholdMs: 2 * ELECTION, maxTrailingLogs: 250 },
      commitStall: { stalledMs: 0, limitMs: 1000 },
    });
    health = assessed.state;
    const c3 = assessed.report.members.find((m) => m.id === 'c3')!;
    const d = decidePreferredLeader(pl, {
      now,
      self: leader,
      isLeader: true,
      leaderSince,
      commit: 50,
      candidate: { voter: true, healthy: c3.healthy, stableSinceMono: c3.stableSinceMono, match: 50 },
      busy: false,
      settings,
    });
    pl = d.state;
    if (d.transferTo !== null) {
      transfers.push(now);
      pendingTransfer = d.transferTo;
    }
  }
  return { transfers, leaderChanges, finalLeader: leader };
}

void t.test('a preferred member that flaps faster than the stabilization time never gets leadership', async (t) => {
  for (const seed of [1, 2, 3]) {
    // Up for 1-9 s, down for 0.5-3 s: never healthy for the 10 s stabilization time.
    const r = runModel(seed, (next) => ({ upMs: 1_000 + Math.floor(next() * 8_000), downMs: 500 + Math.floor(next() * 2_500) }), 600_000, 0);
    t.strictSame(r.transfers, [], `seed ${seed}: no transfer in 10 minutes of flapping`);
    t.equal(r.leaderChanges.length, 0, `seed ${seed}: leadership never moved`);
  }
});

void t.test('a preferred member that flaps slowly moves leadership at most once per minimum interval, then keeps it', async (t) => {
  for (const seed of [11, 12, 13, 14, 15]) {
    // Up for 5-60 s, down for 1-20 s: sometimes stable long enough, sometimes dying while leading.
    const r = runModel(seed, (next) => ({ upMs: 5_000 + Math.floor(next() * 55_000), downMs: 1_000 + Math.floor(next() * 19_000) }), 900_000, 60_000);
    t.ok(r.transfers.length > 0, `seed ${seed}: some transfers happened (${r.transfers.length})`);
    const gaps = r.transfers.slice(1).map((at, i) => at - r.transfers[i]!);
    t.ok(
      gaps.every((g) => g >= SETTINGS.minIntervalMs),
      `seed ${seed}: transfers at least ${SETTINGS.minIntervalMs}ms apart (smallest gap ${Math.min(...gaps)}ms)`,
    );
    t.equal(r.finalLeader, 'c3', `seed ${seed}: once it stays up, the preferred member leads`);
  }
});
