/**
 * leaderlessReason (src/membership/leader-contact.ts): a node that hears a quorum says it has
 * had no leader only past three election timeouts, counted from its last leader contact or
 * from when it began to listen, whichever is later.
 */
import t from 'tap';
import { LEADERLESS_ELECTIONS, leaderlessReason } from '../../src/membership/leader-contact.js';

const E = 1000;

void t.test('not at three election timeouts, only past them', async (t) => {
  const at = (now: number, lastLeaderContactAt: number | null, since = 0): string | null => leaderlessReason({ self: 'c1', now, since, lastLeaderContactAt, electionTimeoutMs: E });
  t.equal(LEADERLESS_ELECTIONS, 3);
  t.equal(at(10_000 + 3 * E, 10_000), null, 'exactly three election timeouts after the last leader contact: an election may still be ending');
  t.match(at(10_000 + 3 * E + 0.4, 10_000), /^c1 has had no leader for 3000ms \(election timeout 1000ms\) although it hears a quorum/, 'just past them, shown rounded to the millisecond');
  t.match(at(10_000 + 3 * E + 1, 10_000), /no leader for 3001ms/);
  t.match(at(10_000 + 3 * E + 1, 10_000), /: it is on the far side of a partial partition, or the voters it hears have not elected one yet \(members just restarted\)$/, 'ops55: not only a partition is named');
  t.equal(at(3 * E, null), null, 'no leader heard since it began to listen, counted from then');
  t.match(at(3 * E + 1, null), /no leader for 3001ms/);
  t.equal(at(5_000 + 3 * E, 1_000, 5_000), null, 'a contact from before it began to listen counts from the start of listening');
});
