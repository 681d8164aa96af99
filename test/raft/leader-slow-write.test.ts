/**
 * Attack round 11 (A1): a burst of large writes held a leader's own disk write for most of an
 * election timeout, and a leader takes no Ready while its write is in flight, so the heartbeats
 * its ticks queued waited for the write too. Its followers heard nothing and elected another
 * leader. Heartbeats now go while the leader writes (RawNode.takeHeartbeats, RaftHost), with
 * their commit capped at what the leader has written, for the write's first two election
 * timeouts: a disk that hangs still costs the leader its term.
 */
import t from 'tap';
import { ofType, Script } from '../sim/script.js';

/** a leads a, b, c; everything so far is written everywhere. */
function led(): Script {
  const s = Script.create(['a', 'b', 'c']);
  s.elect('a');
  s.propose('a', 'x=0');
  s.stabilize();
  return s;
}

/** Ticks every node once and delivers everything, `times` times. */
function run(s: Script, times: number): void {
  for (let i = 0; i < times; i++) {
    for (const id of ['a', 'b', 'c']) s.tick(id);
    s.stabilize();
  }
}

void t.test('a leader whose own write is slow keeps its followers: its heartbeats go while it writes', async (t) => {
  const s = led();
  const term = s.status('a').term;
  s.holdWrites('a', true);
  const written = s.status('a').lastIndex;
  s.propose('a', 'k=1');
  // b takes the entry and acknowledges it; c hears nothing yet. The leader counts its own copy at
  // once, so k=1 is committed by a and b while a has not written it.
  s.stabilize((m) => m.to === 'c' || m.from === 'c');
  t.equal(s.status('a').commit, written + 1, 'k=1 is committed, leaning on the copy the leader has not written');
  s.tick('a');
  const heartbeats = ofType(s.pending((m) => m.from === 'a'), 'Heartbeat');
  t.equal(heartbeats.length, 2, 'a heartbeat to each follower left at the tick, while the write was in flight');
  t.same(
    heartbeats.map((m) => m.commit),
    [written, written],
    'their commit stops at what the leader has written: a follower must not apply k=1 while it could still be lost with the leader',
  );
  // Its followers time out [E, 2E) ticks after the last word they heard: without those
  // heartbeats, 2E - 1 ticks into the write at the latest.
  run(s, 2 * s.electionTicks - 1);
  s.holdWrites('a', false);
  s.stabilize();
  t.equal(s.status('a').role, 'leader', 'a still leads');
  t.equal(s.status('b').term, term, 'no follower started an election');
  t.equal(s.status('c').term, term);
  s.stabilize();
  run(s, 2);
  t.same(s.values('b'), ['x=0', 'k=1'], 'and the write commits once the leader has it on disk');
});

void t.test('a leader whose disk hangs stops its heartbeats after two election timeouts, and another leader is elected', async (t) => {
  const s = led();
  const term = s.status('a').term;
  s.holdWrites('a', true);
  s.propose('a', 'k=1');
  let ticks = 0;
  const elected = (): boolean => s.status('b').role === 'leader' || s.status('c').role === 'leader';
  while (!elected() && ticks < 8 * s.electionTicks) {
    run(s, 1);
    ticks++;
  }
  t.ok(s.status('b').term > term, 'the followers elected a leader of a later term');
  t.ok(ticks > 3 * s.electionTicks, `not before the heartbeats stopped and a follower timed out (after ${ticks} ticks; election timeout ${s.electionTicks})`);
});
