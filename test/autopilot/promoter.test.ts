/**
 * The promoter's rules, one property per test: who is eligible, what "caught up" means, the
 * stabilization clock, one promotion at a time, and leadership changes.
 */
import t from 'tap';
import {
  decidePromotion,
  INITIAL_PROMOTER_STATE,
  type PromoterInput,
  type PromoterMember,
  type PromoterSettings,
  type PromoterState,
  type PromotionDecision,
} from '../../src/autopilot/promoter.js';
import type { ContactObservation } from '../../src/autopilot/health.js';

const voter = (id: string): PromoterMember => ({ id, role: 'voter', autoPromote: false, incarnation: `${id}-dir` });
const learner = (id: string, autoPromote = true, incarnation = `${id}-dir`): PromoterMember => ({ id, role: 'learner', autoPromote, incarnation });

const TERM = 5;
const SETTINGS: PromoterSettings = { promoteLearners: false, stabilizationMs: 0, maxTrailingLogs: 10, lastContactThresholdMs: 2_000 };

/**
 * One round's input. Every learner is healthy unless `contact` says otherwise: online, heard
 * from at `now`, on the leader's term.
 */
function input(over: Partial<Omit<PromoterInput, 'settings'>> & { match?: Record<string, number>; contact?: Record<string, Partial<ContactObservation>>; settings?: Partial<PromoterSettings> }): PromoterInput {
  const { match = {}, contact = {}, settings = {}, ...rest } = over;
  const now = rest.now ?? 0;
  const members = rest.members ?? [voter('c1'), voter('c2'), voter('c3'), learner('c4')];
  const contacts = new Map<string, ContactObservation>(
    members.filter((m) => m.role === 'learner').map((m) => [m.id, { online: true, lastContactAt: now, term: TERM, ...contact[m.id] }]),
  );
  return {
    now,
    isLeader: true,
    members,
    progress: new Map(Object.entries(match).map(([id, m]) => [id, { match: m }])),
    commit: 100,
    term: TERM,
    contacts,
    changeInFlight: false,
    ...rest,
    settings: { ...SETTINGS, ...settings },
  };
}

/** Runs steps in order, carrying the state; returns each decision. */
function run(steps: readonly PromoterInput[]): PromotionDecision[] {
  let state: PromoterState = INITIAL_PROMOTER_STATE;
  return steps.map((step) => {
    const d = decidePromotion(state, step);
    state = d.state;
    return d;
  });
}

void t.test('a learner added by a plain member add is promoted once caught up (no stabilization time)', async (t) => {
  const [behind, caughtUp] = run([input({ match: { c4: 50 } }), input({ now: 100, match: { c4: 95 } })]);
  t.equal(behind!.promote, null);
  t.strictSame(behind!.learners, [{ id: 'c4', verdict: 'behind', entries: 50 }], 'more than max_trailing_logs behind');
  t.equal(caughtUp!.promote, 'c4', 'within max_trailing_logs of the commit index');
});

void t.test('a learner that has received nothing is behind, whatever the commit index', async (t) => {
  const [d] = run([input({ commit: 0, match: {} })]);
  t.strictSame(d!.learners, [{ id: 'c4', verdict: 'behind', entries: 0 }]);
  t.equal(d!.promote, null);
});

void t.test('a caught-up learner whose data dir the cluster has not recorded waits: it could not vote yet', async (t) => {
  const unrecorded = [voter('c1'), voter('c2'), voter('c3'), learner('c4', true, '')];
  const [waiting, recorded] = run([
    input({ members: unrecorded, match: { c4: 100 } }),
    input({ now: 100, match: { c4: 100 } }),
  ]);
  t.equal(waiting!.promote, null, 'not promoted while its incarnation is unrecorded');
  t.strictSame(waiting!.learners, [{ id: 'c4', verdict: 'unrecorded' }]);
  t.equal(recorded!.promote, 'c4', 'promoted once the record is applied');
});

void t.test('a learner added with --learner waits for the operator unless autopilot.promote_learners is on', async (t) => {
  const manual = [voter('c1'), learner('c4', false)];
  const [off] = run([input({ members: manual, match: { c4: 100 } })]);
  t.equal(off!.promote, null);
  t.strictSame(off!.learners, [{ id: 'c4', verdict: 'manual' }]);
  const [on] = run([input({ members: manual, match: { c4: 100 }, settings: { promoteLearners: true, stabilizationMs: 0, maxTrailingLogs: 10 } })]);
  t.equal(on!.promote, 'c4');
});

void t.test('the stabilization time: caught up without a break for that long, and falling behind restarts the clock', async (t) => {
  const settings = { promoteLearners: false, stabilizationMs: 10_000, maxTrailingLogs: 10 };
  const d = run([
    input({ now: 0, match: { c4: 100 }, settings }),
    input({ now: 6_000, match: { c4: 100 }, settings }),
    input({ now: 7_000, match: { c4: 20 }, settings }), // fell behind
    input({ now: 8_000, match: { c4: 100 }, settings }), // caught up again: the clock restarts here
    input({ now: 17_999, match: { c4: 100 }, settings }),
    input({ now: 18_000, match: { c4: 100 }, settings }),
  ]);
  t.strictSame(d[1]!.learners, [{ id: 'c4', verdict: 'stabilizing', remainingMs: 4_000 }]);
  t.strictSame(d[2]!.learners, [{ id: 'c4', verdict: 'behind', entries: 80 }]);
  t.strictSame(d[4]!.learners, [{ id: 'c4', verdict: 'stabilizing', remainingMs: 1 }]);
  t.strictSame(d.map((x) => x.promote), [null, null, null, null, null, 'c4'], 'promoted 10 s after catching up again, not after the first');
  t.strictSame(d[5]!.learners, [{ id: 'c4', verdict: 'ready', caughtUpForMs: 10_000 }]);
});

void t.test('one promotion at a time: none while a membership change is in flight', async (t) => {
  const [d] = run([input({ match: { c4: 100 }, changeInFlight: true })]);
  t.equal(d!.promote, null);
  t.strictSame(d!.learners, [{ id: 'c4', verdict: 'ready', caughtUpForMs: 0 }], 'still ready: promoted once the change is done');
});

void t.test('of several ready learners, the one caught up longest goes first; ids break ties', async (t) => {
  const members = [voter('c1'), learner('c5'), learner('c4'), learner('c6')];
  const d = run([
    input({ now: 0, members, match: { c5: 100 } }),
    input({ now: 1, members, match: { c4: 100, c5: 100, c6: 100 }, changeInFlight: true }),
    input({ now: 2, members, match: { c4: 100, c5: 100, c6: 100 } }),
  ]);
  t.equal(d[2]!.promote, 'c5', 'c5 has been caught up since 0, the others since 1');
  const [tie] = run([input({ members, match: { c4: 100, c5: 100, c6: 100 } })]);
  t.equal(tie!.promote, 'c4');
  t.strictSame(tie!.learners.map((l) => l.id), ['c4', 'c5', 'c6'], 'verdicts in id order');
});

void t.test('only a leader promotes, and a new leader starts every clock afresh', async (t) => {
  const settings = { promoteLearners: false, stabilizationMs: 5_000, maxTrailingLogs: 10 };
  const d = run([
    input({ now: 0, match: { c4: 100 }, settings }),
    input({ now: 4_000, isLeader: false, match: { c4: 100 }, settings }),
    input({ now: 6_000, match: { c4: 100 }, settings }),
    input({ now: 11_000, match: { c4: 100 }, settings }),
  ]);
  t.strictSame(d[1], { state: INITIAL_PROMOTER_STATE, promote: null, learners: [] }, 'a follower decides nothing');
  t.equal(d[2]!.promote, null, 'leading again at 6 s: caught up since 6 s, not since 0');
  t.equal(d[3]!.promote, 'c4');
});

void t.test('voters are never candidates', async (t) => {
  const [d] = run([input({ members: [voter('c1'), voter('c2')], match: { c2: 100 } })]);
  t.strictSame(d!.learners, []);
  t.equal(d!.promote, null);
});

void t.test('caught up is not enough: a learner must be healthy as health in depth judges it', async (t) => {
  const caughtUp = { c4: 100 };
  const [offline] = run([input({ match: caughtUp, contact: { c4: { online: false } } })]);
  t.strictSame(offline!.learners, [{ id: 'c4', verdict: 'unhealthy', problems: [{ kind: 'offline' }] }]);
  t.equal(offline!.promote, null, 'offline in the leader view');
  const [silent] = run([input({ now: 10_000, match: caughtUp, contact: { c4: { lastContactAt: 7_000 } } })]);
  t.strictSame(silent!.learners, [{ id: 'c4', verdict: 'unhealthy', problems: [{ kind: 'silent', lastContactMs: 3_000, thresholdMs: 2_000 }] }]);
  t.equal(silent!.promote, null, 'not heard from within last_contact_threshold');
  const [oldTerm] = run([input({ match: caughtUp, contact: { c4: { term: TERM - 1 } } })]);
  t.strictSame(oldTerm!.learners, [{ id: 'c4', verdict: 'unhealthy', problems: [{ kind: 'term', term: TERM - 1, leaderTerm: TERM }] }]);
  t.equal(oldTerm!.promote, null, "answered in another term than the leader's");
  const [never] = run([input({ match: caughtUp, contacts: new Map() })]);
  t.strictSame(never!.learners, [
    {
      id: 'c4',
      verdict: 'unhealthy',
      problems: [{ kind: 'offline' }, { kind: 'silent', lastContactMs: null, thresholdMs: 2_000 }, { kind: 'term', term: null, leaderTerm: TERM }],
    },
  ]);
  t.equal(never!.promote, null, 'never heard from');
  const [exactly] = run([input({ now: 10_000, match: caughtUp, contact: { c4: { lastContactAt: 8_000 } } })]);
  t.equal(exactly!.promote, 'c4', 'heard from exactly last_contact_threshold ago is still healthy');
});

void t.test('a lapse of health restarts the stabilization clock, so a flapping learner is never promoted', async (t) => {
  const settings = { stabilizationMs: 5_000 };
  // Every 4 s the learner drops out of the leader's view for one round: never 5 s healthy in a row.
  const steps: PromoterInput[] = [];
  for (let now = 0; now <= 40_000; now += 1_000) {
    const flap = now % 4_000 === 3_000;
    steps.push(input({ now, settings, match: { c4: 100 }, contact: flap ? { c4: { online: false } } : {} }));
  }
  const flapping = run(steps);
  t.ok(flapping.every((d) => d.promote === null), 'never promoted while it flaps');
  t.strictSame(flapping[3]!.learners, [{ id: 'c4', verdict: 'unhealthy', problems: [{ kind: 'offline' }] }]);
  t.strictSame(flapping[6]!.learners, [{ id: 'c4', verdict: 'stabilizing', remainingMs: 3_000 }], 'the clock started again at 4 s');
  // It stops flapping at 40 s (healthy again from 40 s): promoted at 45 s, not earlier.
  const settled = run([...steps, ...[41_000, 44_999, 45_000].map((now) => input({ now, settings, match: { c4: 100 } }))]);
  t.strictSame(settled.slice(-3).map((d) => d.promote), [null, null, 'c4']);
  t.strictSame(settled.at(-1)!.learners, [{ id: 'c4', verdict: 'ready', caughtUpForMs: 5_000 }]);
});

void t.test('learners are promoted one at a time: the second waits for the first change to finish', async (t) => {
  const members = [voter('c1'), learner('c4'), learner('c5')];
  const both = { c4: 100, c5: 100 };
  const d = run([
    input({ now: 0, members, match: both }),
    input({ now: 1, members, match: both, changeInFlight: true }),
    // c4's promotion applied: it is a voter now, c5 is next.
    input({ now: 2, members: [voter('c1'), voter('c4'), learner('c5')], match: both }),
  ]);
  t.strictSame(d.map((x) => x.promote), ['c4', null, 'c5']);
});
