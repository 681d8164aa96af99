/**
 * RaftHost's initial election tick advance (etcd's --initial-election-tick-advance): before any
 * leader is known, a node that hears from enough peers to form a quorum counts all but two
 * ticks of its first election timeout as passed; a single voter all but one, at start. Each
 * case runs twice on the same seed, with and without the advance, so the randomized part of
 * the timeout is the same and the difference is exactly the advance.
 */
import t from 'tap';
import type { NodeId } from '../../src/raft/index.js';
import { Script } from '../sim/script.js';

const SEED = 11;

/** Ticks of `id` until it campaigns (sends a pre-vote or vote, or leads alone). */
function ticksToCampaign(s: Script, id: NodeId): number {
  for (let ticks = 1; ticks <= 10 * s.electionTicks; ticks++) {
    s.tick(id);
    if (s.pending((m) => m.from === id && (m.type === 'PreVote' || m.type === 'Vote')).length > 0 || s.status(id).role === 'leader') return ticks;
  }
  throw new Error(`${id} never campaigned`);
}

function twins(voters: readonly NodeId[], prepare: (s: Script) => void): { withAdvance: number; without: number; electionTicks: number } {
  const on = Script.create(voters, {}, SEED);
  const off = Script.create(voters, { initialElectionAdvance: false }, SEED);
  prepare(on);
  prepare(off);
  return { withAdvance: ticksToCampaign(on, voters[0]!), without: ticksToCampaign(off, voters[0]!), electionTicks: on.electionTicks };
}

void t.test(`a fresh node that hears from a quorum's worth of peers campaigns electionTicks - 2 ticks sooner (seed ${SEED})`, async (t) => {
  const r = twins(['a', 'b', 'c'], (s) => s.get('a').host().notePeerAlive('b'));
  t.comment(`first campaign after ${r.withAdvance} ticks with the advance, ${r.without} without; election timeout ${r.electionTicks} ticks`);
  t.equal(r.without - r.withAdvance, r.electionTicks - 2);
  t.ok(r.withAdvance >= 2, 'two ticks are left for a leader heartbeat to arrive first');
});

void t.test('too few peers for a quorum: no advance; enough: the advance', async (t) => {
  const one = twins(['a', 'b', 'c', 'd', 'e'], (s) => s.get('a').host().notePeerAlive('b'));
  t.equal(one.withAdvance, one.without, 'one peer of four: with a itself not a quorum of five');
  const two = twins(['a', 'b', 'c', 'd', 'e'], (s) => {
    s.get('a').host().notePeerAlive('b');
    s.get('a').host().notePeerAlive('b');
    s.get('a').host().notePeerAlive('c');
  });
  t.equal(two.without - two.withAdvance, two.electionTicks - 2, 'two distinct peers of four: a quorum with a itself');
  const strangers = twins(['a', 'b', 'c'], (s) => {
    s.get('a').host().notePeerAlive('x');
    s.get('a').host().notePeerAlive('a');
  });
  t.equal(strangers.withAdvance, strangers.without, 'a non-voter and the node itself do not count');
});

void t.test('a single voter counts all but one tick of its first election timeout as passed', async (t) => {
  const r = twins(['a'], () => undefined);
  t.equal(r.without - r.withAdvance, r.electionTicks - 1);
  const s = Script.create(['a'], {}, SEED);
  ticksToCampaign(s, 'a');
  t.equal(s.status('a').role, 'leader', 'it leads');
});

void t.test('a node that has known a leader is not advanced, whoever it hears from later', async (t) => {
  const r = twins(['a', 'b', 'c'], (s) => {
    s.elect('b');
    s.isolate('b');
    // Messages still queued from the election are b's: drop them, a hears nothing more from b.
    s.take(() => true);
    s.get('a').host().notePeerAlive('c');
  });
  t.equal(r.withAdvance, r.without);
});
