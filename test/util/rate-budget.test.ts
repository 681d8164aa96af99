/** RateBudget: a burst at once, then `perSecond` on average, on the time it is given. */
import t from 'tap';
import { RateBudget } from '../../src/util/rate-budget.js';

void t.test('a burst at once, then one take per refill interval', async (t) => {
  const b = new RateBudget(10, 3, 1000);
  t.strictSame([b.take(1000), b.take(1000), b.take(1000), b.take(1000)], [true, true, true, false], 'the burst of 3, then none');
  t.notOk(b.take(1099), 'not before 100 ms');
  t.ok(b.take(1100), 'one after 100 ms');
  t.notOk(b.take(1100), 'and only one');
});

void t.test('a quiet spell refills no more than the burst', async (t) => {
  const b = new RateBudget(10, 3, 0);
  for (let i = 0; i < 3; i++) b.take(0);
  let taken = 0;
  for (let i = 0; i < 10; i++) if (b.take(60_000)) taken += 1;
  t.equal(taken, 3, 'a minute later: 3, not 600');
});

void t.test('time going backwards takes nothing it did not have', async (t) => {
  const b = new RateBudget(10, 1, 500);
  t.ok(b.take(500));
  t.notOk(b.take(100), 'an earlier now refills nothing');
  t.ok(b.take(600));
});
