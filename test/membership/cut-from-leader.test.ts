/**
 * attack-34 H5 on simulated time (membership-sim.ts, the production membership driver): a
 * follower cut off from the leader but still hearing a quorum keeps what it last applied while
 * the cluster commits without it. Its answers (`list controllers`, and `list agents`, which
 * carries the same view's standing) must say stale once that outlasts an ordinary election, so
 * ctl asks another endpoint; before, they said current for the whole partition.
 */
import t from 'tap';
import { Sim } from './membership-sim.js';
import { LEADERLESS_ELECTIONS } from '../../src/membership/leader-contact.js';

const ELECTION_MS = 1000;

void t.test('a follower cut off from the leader but hearing a quorum answers stale beyond an ordinary election, and current again once healed', async (t) => {
  const sim = new Sim({ n: 3, seed: 34, baseTimeoutMs: 2000, dynamic: true, jitter: [50, 200], electionTimeoutMs: ELECTION_MS });
  sim.runUntil(10_000);
  const leader = sim.leader;
  const cut = sim.ids.find((id) => id !== leader)!;
  const other = sim.ids.find((id) => id !== leader && id !== cut)!;
  t.notOk(sim.stale(cut), 'healthy: current');

  sim.bridge([cut], [leader], true);
  const cutAt = sim.now;
  // Within an ordinary election a follower keeps answering: no commit happens without a leader.
  sim.runUntil(cutAt + (LEADERLESS_ELECTIONS - 1) * ELECTION_MS);
  t.notOk(sim.stale(cut), `${cut} still hears ${other}: not stale within ${LEADERLESS_ELECTIONS} election timeouts`);

  sim.runUntil(cutAt + (LEADERLESS_ELECTIONS + 1) * ELECTION_MS);
  t.equal(sim.leader, leader, `${leader} keeps leading with ${other}`);
  const view = sim.node(cut).driver.listControllers();
  t.ok(view.stale, `${cut} cannot vouch for what it applied: stale`);
  t.match(view.staleReason, new RegExp(`^${cut} has had no leader for \\d+ms \\(election timeout ${ELECTION_MS}ms\\) although it hears a quorum`));
  t.ok(view.rows.find((r) => r.id === cut)?.online, `${cut} is still connected (online): only its answers are stale`);
  t.notOk(sim.stale(other), `${other} hears the leader: current`);
  t.notOk(sim.stale(leader), `${leader} has its quorum: current`);

  // Stays stale for the whole partition, not only once.
  sim.runUntil(cutAt + 20_000);
  t.ok(sim.stale(cut), `${cut} still stale 20 s into the partition`);

  sim.bridge([cut], [leader], false);
  sim.runUntil(sim.now + 2 * ELECTION_MS);
  t.notOk(sim.stale(cut), `${cut} hears the leader again: current`);
});
