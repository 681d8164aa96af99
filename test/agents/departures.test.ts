/**
 * Departures that came due while their agent's record did not name their stream wait up to
 * LATE_CLAIM_WAIT_MS for this controller's late claim; at most MAX_AWAITING_CLAIMS of them, the
 * one due longest ago forgotten first, so ids a client makes up cost bounded memory.
 */
import t from 'tap';
import { Departures, LATE_CLAIM_WAIT_MS, MAX_AWAITING_CLAIMS, type Departure } from '../../src/agents/departures.js';

const departure = (session: string): Departure => ({ session, deadline: 0, reason: 'stream closed', lastHeardAt: 0, timeoutMs: 1000, rejected: null });

void t.test('a due departure waits for its late claim; another stream of its agent ends it and keeps waiting', async (t) => {
  const d = new Departures(250);
  d.awaitClaim('a1', departure('s2'), 1000);
  t.equal(d.awaitingClaims, 1);
  t.equal(d.lateClaim('a2', 's2'), null, 'another agent: nothing');
  t.match(d.lateClaim('a1', 's1'), { session: 's2' }, 'an older stream of the agent committed late: the departure of the newer one');
  t.equal(d.awaitingClaims, 1, 'which keeps waiting for its own claim');
  t.match(d.lateClaim('a1', 's2'), { session: 's2' });
  t.equal(d.awaitingClaims, 0, 'its own claim ends the wait');
});

void t.test(`a departure waits ${LATE_CLAIM_WAIT_MS} ms at most, oldest forgotten first`, async (t) => {
  const d = new Departures(250);
  d.awaitClaim('a1', departure('s1'), 0);
  d.awaitClaim('a2', departure('s2'), 10);
  d.forgetUnclaimed(LATE_CLAIM_WAIT_MS - 1);
  t.equal(d.awaitingClaims, 2, 'both still within the wait');
  d.forgetUnclaimed(LATE_CLAIM_WAIT_MS);
  t.equal(d.lateClaim('a1', 's1'), null, 'the first forgotten at its end');
  t.match(d.lateClaim('a2', 's2'), { session: 's2' }, 'the second still waits');
});

void t.test(`at most ${MAX_AWAITING_CLAIMS} departures wait (here 3), the one due longest ago forgotten first`, async (t) => {
  const d = new Departures(250, 3);
  for (let i = 1; i <= 5; i++) d.awaitClaim(`a${i}`, departure(`s${i}`), i);
  t.equal(d.awaitingClaims, 3, 'the bound holds');
  t.equal(d.lateClaim('a1', 's1'), null, 'the first forgotten');
  t.equal(d.lateClaim('a2', 's2'), null, 'the second forgotten');
  for (const i of [3, 4, 5]) t.match(d.lateClaim(`a${i}`, `s${i}`), { session: `s${i}` }, `a${i} still waits`);
  // One that comes due again moves to the back of the line.
  const e = new Departures(250, 2);
  e.awaitClaim('a1', departure('s1'), 1);
  e.awaitClaim('a2', departure('s2'), 2);
  e.awaitClaim('a1', departure('s3'), 3);
  e.awaitClaim('a3', departure('s4'), 4);
  t.equal(e.lateClaim('a2', 's2'), null, 'a2, now the oldest, forgotten');
  t.match(e.lateClaim('a1', 's3'), { session: 's3' }, 'a1 came due again later and still waits');
});
