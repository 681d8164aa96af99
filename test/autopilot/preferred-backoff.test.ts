/** The preferred leader's back-off (src/autopilot/preferred-backoff.ts): each loss by election doubles the stable time it needs. */
import t from 'tap';
import { INITIAL_PREFERRED_BACKOFF, MAX_BACKOFF_DOUBLINGS, noteLeaderChange, RESET_AFTER_HOLDS, stableForWithBackoff, type PreferredBackoff } from '../../src/autopilot/preferred-backoff.js';

const STABLE = 10_000;
const change = (b: PreferredBackoff, from: string | null, to: string, now: number, byElection = true, preferred: string | null = 'c2'): PreferredBackoff =>
  noteLeaderChange(b, { from, to, byElection, now, preferred, stableForMs: STABLE });

void t.test('a preferred leader that keeps losing leadership by election waits twice as long each time, up to 32 times', async (t) => {
  let b = change(INITIAL_PREFERRED_BACKOFF, 'c1', 'c2', 0, false);
  t.same(b, { losses: 0, heldSince: 0 }, 'handed leadership: no loss yet');
  t.equal(stableForWithBackoff(b, STABLE), STABLE);
  const needed: number[] = [];
  for (let i = 1; i <= 7; i++) {
    b = change(b, 'c2', 'c1', i * 20_000 + 3_000);
    needed.push(stableForWithBackoff(b, STABLE));
    b = change(b, 'c1', 'c2', (i + 1) * 20_000, false);
  }
  t.same(needed, [20_000, 40_000, 80_000, 160_000, 320_000, 320_000, 320_000], `doubling, capped at 2^${MAX_BACKOFF_DOUBLINGS}`);
});

void t.test('a hand-off away from it (a transfer) is not a loss; leading long enough clears the count; no preferred leader: nothing', async (t) => {
  let b = change(INITIAL_PREFERRED_BACKOFF, 'c1', 'c2', 0, false);
  b = change(b, 'c2', 'c3', 5_000, false);
  t.equal(b.losses, 0, 'an operator moving leadership away counts for nothing');
  b = change(b, 'c3', 'c2', 6_000, false);
  b = change(b, 'c2', 'c1', 7_000);
  t.equal(b.losses, 1);
  b = change(b, 'c1', 'c2', 8_000, false);
  b = change(b, 'c2', 'c1', 8_000 + RESET_AFTER_HOLDS * STABLE);
  t.equal(b.losses, 1, 'held it for ten stable times: the count starts again from this loss');
  t.same(change(b, 'c1', 'c3', 1e6, true, null), INITIAL_PREFERRED_BACKOFF, 'no preferred leader: no back-off');
  t.equal(change(b, 'c1', 'c3', 1e6).losses, 1, 'changes between other members count for nothing');
});
