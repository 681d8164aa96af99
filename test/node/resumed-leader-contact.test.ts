/**
 * RaftHost.lastLeaderContactAt for a leader that was stopped (SIGSTOP, a blocked event loop):
 * what its peers sent meanwhile waits in its sockets and is read after it resumes. Those
 * messages say nothing about now, so they must not make it a current leader: its quorum
 * contact moves only when a quorum acknowledges something it sent after the resume.
 *
 * The e2e test (test/e2e/status-truth.test.ts) caught a resumed old leader answering as the
 * current leader of its old term: on resuming, it read the answers to its last heartbeats and
 * its peers' pre-votes and votes of the next term (which stickiness ignores), each counted as
 * contact at the instant it was read. Here the Script's hand-driven time replays that, in
 * either order of the resumed node's first heartbeat round and the messages that waited.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { ofType, Script } from '../sim/script.js';

/** An elected `a` of a b c whose heartbeat round was answered, the answers not read yet. */
function leaderWithHeldAnswers(): { s: Script; held: Message[]; contactAgo: () => number } {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.tick('a');
  for (const m of s.take((m) => m.from === 'a')) s.deliver(m);
  const held = s.take((m) => m.to === 'a');
  const a = s.get('a').host();
  const contactAgo = (): number => {
    const at = a.lastLeaderContactAt();
    return at === null ? Number.POSITIVE_INFINITY : s.clock - at;
  };
  return { s, held, contactAgo };
}

/** b and c stop hearing from a for two election timeouts: they pre-vote (held for now). */
function stallA(s: Script): Message[] {
  for (let i = 0; i < 2 * s.electionTicks; i++) {
    s.tick('b');
    s.tick('c');
  }
  return s.take((m) => m.to === 'a');
}

void t.test('a resumed leader that reads the answers and pre-votes that waited stays stale until a quorum answers a heartbeat sent since', async (t) => {
  const { s, held, contactAgo } = leaderWithHeldAnswers();
  const electionMs = s.settings.electionTimeoutMs;
  t.ok(held.some((m) => m.type === 'HeartbeatResp' && m.from === 'b') && held.some((m) => m.type === 'HeartbeatResp' && m.from === 'c'), 'b and c answered the heartbeat round');
  const waited = [...held, ...stallA(s)];
  t.ok(waited.some((m) => m.type === 'PreVote'), 'b and c pre-voted for the next term while a was stopped');
  t.ok(contactAgo() > electionMs, `stopped: a's quorum contact is ${contactAgo()}ms old, beyond the ${electionMs}ms election timeout`);

  // a resumes and reads what waited before anything else: its old heartbeat answers, and the
  // pre-votes that stickiness ignores.
  for (const m of waited) s.deliver(m);
  t.equal(s.status('a').role, 'leader', 'a still leads its old term (stickiness ignored the pre-votes)');
  t.ok(contactAgo() > electionMs, `the answers that waited count as of their round: contact ${contactAgo()}ms old, stale`);

  // Its first heartbeat round after the resume, answered by b and c: current again.
  s.tick('a');
  const round = s.take((m) => m.from === 'a' && m.type === 'Heartbeat');
  t.equal(round.length, 2, 'a sends a heartbeat round after the resume');
  t.ok(contactAgo() > electionMs, 'sent but not yet answered: still stale');
  for (const m of round) s.deliver(m);
  for (const m of s.take((m) => m.to === 'a')) s.deliver(m);
  t.ok(contactAgo() <= s.tickMs, `answered by a quorum: contact ${contactAgo()}ms old, current`);
});

void t.test('the same when the resumed leader sends its heartbeat round before it reads what waited', async (t) => {
  const { s, held, contactAgo } = leaderWithHeldAnswers();
  const electionMs = s.settings.electionTimeoutMs;
  const waited = [...held, ...stallA(s)];

  // Timers first: a's overdue tick sends a new round; then it reads the old answers and pre-votes.
  s.tick('a');
  const round = s.take((m) => m.from === 'a' && m.type === 'Heartbeat');
  for (const m of waited) s.deliver(m);
  t.equal(s.status('a').role, 'leader', 'a still leads its old term');
  t.ok(contactAgo() > electionMs, `answers to the round before the stall do not count for the round after it: contact ${contactAgo()}ms old`);

  // One follower answers the new round: with a itself that is a quorum of three.
  s.deliver(round.find((m) => m.to === 'b')!);
  for (const m of s.take((m) => m.to === 'a')) s.deliver(m);
  t.ok(contactAgo() <= s.tickMs, `b answered the round sent after the resume: contact ${contactAgo()}ms old, current`);
});

void t.test('a heartbeat answer carries no round the core would see: reads on the leader are still served', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.stabilize();
  s.act('a', (h) => h.readIndex('r1'));
  const heartbeats = ofType(s.pending(), 'Heartbeat');
  t.ok(heartbeats.length > 0 && heartbeats.every((m) => /^.+#\d+$/.test(m.context)), 'the read round leaves with its round number after the read context');
  s.stabilize();
  t.same(s.reads.get('a')?.map((r) => r.context), ['r1'], 'the followers echo it, and the read is served');
});

void t.test('a leader that steps down keeps its last quorum contact, not the time before it led', async (t) => {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.stabilize();
  const a = s.get('a').host();
  const contact = a.lastLeaderContactAt();
  t.ok(contact !== null, 'leading, acknowledged by a quorum');
  // b and c stop answering: check-quorum makes a step down after an election timeout.
  for (let i = 0; i < 3 * s.electionTicks && s.status('a').role === 'leader'; i++) {
    s.tick('a');
    s.take(() => true);
  }
  t.not(s.status('a').role, 'leader', 'a stepped down');
  t.equal(s.status('a').leader, null, 'and knows no leader');
  // Before, a had had no message from another leader ever, so its contact read null: an
  // API call then said it had had no leader since it started, though it had led all along.
  t.equal(a.lastLeaderContactAt(), contact, 'its last contact is when a quorum last acknowledged it');
});
