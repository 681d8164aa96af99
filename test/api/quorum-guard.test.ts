/** When a node answers NO_QUORUM at once, and when it holds a request for the new leader. */
import t from 'tap';
import { cutOffReason, LEADERLESS_ELECTIONS, type QuorumSignals } from '../../src/api/quorum-guard.js';

const ET = 1000;
const signals = (over: Partial<QuorumSignals> & { at: number }): QuorumSignals => ({
  self: 'c1',
  electionTimeoutMs: ET,
  startedAt: 0,
  now: () => over.at,
  staleReason: () => '',
  leader: () => 'c2',
  lastLeaderContactAt: () => over.at,
  ...over,
});

void t.test('cut off from a quorum: refused at once, naming the node and what it lacks', async (t) => {
  const reason = cutOffReason(signals({ at: 5000, staleReason: () => 'c1 has heard from 1 of 3 voters within the election timeout (1000ms), a quorum is 2' }));
  t.equal(reason, 'c1 is cut off from a quorum: c1 has heard from 1 of 3 voters within the election timeout (1000ms), a quorum is 2');
  t.equal(cutOffReason(signals({ at: ET, staleReason: () => 'anything' })), null, 'not judged in its first election timeout after start');
  t.equal(cutOffReason(signals({ at: 60_000, startedAt: Number.POSITIVE_INFINITY, leader: () => null, staleReason: () => 'anything' })), null, 'nor before it serves (replaying its log)');
});

void t.test('an ordinary election holds the request; a node leaderless for longer than elections take says so', async (t) => {
  const lost = 10_000;
  const during = (ms: number): string | null => cutOffReason(signals({ at: lost + ms, leader: () => null, lastLeaderContactAt: () => lost }));
  t.equal(during(ET), null, 'one election timeout without a leader: an election, hold the request');
  t.equal(during(LEADERLESS_ELECTIONS * ET), null, 'up to three election timeouts: still an election');
  t.match(during(LEADERLESS_ELECTIONS * ET + 1), /^c1 has had no leader for 3001ms \(election timeout 1000ms\) although it hears a quorum/);
  t.equal(cutOffReason(signals({ at: lost + 60_000 })), null, 'with a leader it serves, however long ago the last change');
  t.match(cutOffReason(signals({ at: 9000, leader: () => null, lastLeaderContactAt: () => null })), /no leader for 9000ms/, 'never had a leader: counted from its start');
});

void t.test('cut off while peers refuse it as a second process of its member: the answer names them and DUPLICATE_PROCESS', async (t) => {
  const stale = 'c1 resumed 31514ms ago from a stall of 149288ms and has heard back from 1 of 3 voters since';
  const reason = cutOffReason(signals({ at: 5000, staleReason: () => stale, refusedAsDuplicateBy: () => ['c2', 'c3'] }));
  t.equal(reason, `c1 is cut off from a quorum: ${stale}; c2, c3 refuse it as DUPLICATE_PROCESS: another process speaks as c1 (docs/operate.md, DUPLICATE_PROCESS)`);
  t.equal(cutOffReason(signals({ at: 5000, staleReason: () => stale, refusedAsDuplicateBy: () => [] })), `c1 is cut off from a quorum: ${stale}`, 'nobody refusing: as before');
  t.equal(cutOffReason(signals({ at: 5000, refusedAsDuplicateBy: () => ['c2'] })), null, 'a node that can serve is not made to refuse by it');
});

void t.test("cut off while peers refuse its cluster name: the answer says so (round 6's F2)", async (t) => {
  const stale = 'c1 has heard from 1 of 3 voters within the election timeout (1000ms), a quorum is 2; no leader contact yet';
  const name = `c2, c3 refuse it as CLUSTER_NAME: c1's file names the cluster "att6x", they run "att6" (give c1 the cluster's file and restart it)`;
  t.equal(cutOffReason(signals({ at: 5000, staleReason: () => stale, refusedForName: () => name })), `c1 is cut off from a quorum: ${stale}; ${name}`);
  t.equal(cutOffReason(signals({ at: 5000, staleReason: () => stale, refusedForName: () => '' })), `c1 is cut off from a quorum: ${stale}`, 'nobody refusing: as before');
  t.equal(cutOffReason(signals({ at: 5000, refusedForName: () => name })), null, 'a node that can serve is not made to refuse by it');
});
