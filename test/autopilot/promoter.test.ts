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
  type PromoterState,
  type PromotionDecision,
} from '../../src/autopilot/promoter.js';

const voter = (id: string): PromoterMember => ({ id, role: 'voter', autoPromote: false });
const learner = (id: string, autoPromote = true): PromoterMember => ({ id, role: 'learner', autoPromote });

function input(over: Partial<PromoterInput> & { match?: Record<string, number> }): PromoterInput {
  const match = over.match ?? {};
  return {
    now: 0,
    isLeader: true,
    members: [voter('c1'), voter('c2'), voter('c3'), learner('c4')],
    progress: new Map(Object.entries(match).map(([id, m]) => [id, { match: m }])),
    commit: 100,
    settings: { promoteLearners: false, stabilizationMs: 0, maxTrailingLogs: 10 },
    changeInFlight: false,
    ...over,
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
