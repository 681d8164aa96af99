/**
 * Appends to one follower that arrive out of order. A later append reaching the follower before
 * an earlier one is refused (its prev index is past the follower's log), and the refusal sends
 * the follower's progress from replicate back to probe (as etcd's). Answers to appends sent
 * before that fall arrive after it, also out of order; they must neither lower the probe below
 * what the follower has acknowledged nor be dropped when they say all a probe's answer would.
 * The simulation's network reorders so (identity seeds 34784 and 179955: a member catching up
 * one entry per append fell to probe seven times, and each fall cost a round trip or more).
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { Progress } from '../../src/raft/progress.js';
import { ofType, type Script } from '../sim/script.js';
import { replicating } from './replicating.js';

type Append = Extract<Message, { type: 'Append' }>;

/** The appends with entries queued for b (not the commit notices). */
function appendsToB(s: Script): Append[] {
  return ofType(s.pending((m) => m.to === 'b'), 'Append').filter((m) => m.entries.length > 0);
}

/** Takes b's one queued answer. */
function answerOfB(s: Script): Message {
  const answers = s.take((m) => m.from === 'b' && m.type === 'AppendResp');
  if (answers.length !== 1) throw new Error(`expected one answer of b, found ${answers.length}`);
  return answers[0]!;
}

/** Delivers one queued append to b, its answer held. */
function deliverToB(s: Script, a: Append): Message {
  const [m] = s.take((x) => x === a);
  if (!m) throw new Error('append not queued');
  s.deliver(m);
  return answerOfB(s);
}

void t.test("a refusal at the follower's match, overtaken by a later accept, leaves the probe where it is", async (t) => {
  const s = replicating();
  const first = s.status('a').lastIndex + 1;
  for (let i = 1; i <= 3; i++) s.propose('a', `k=${i}`);
  const [a1, a2, a3] = appendsToB(s);
  t.same([a1, a2, a3].map((m) => m?.entries[0]?.index), [first, first + 1, first + 2], 'three pipelined appends, one entry each');

  // a2 overtakes a1: b refuses it (its prev index, `first`, is past b's log), an answer that stays on the way.
  const staleRefusal = deliverToB(s, a2!);
  t.match(staleRefusal, { reject: true, index: first }, 'b refuses a2');
  // a1 arrives and is acknowledged: b's match is `first`.
  s.deliver(deliverToB(s, a1!));
  t.equal(s.status('a').progress.get('b')?.match, first, "the leader knows b's match");
  // a3 arrives after a2's refusal, past b's log too: refused, and the leader probes from first+1.
  s.deliver(deliverToB(s, a3!));
  t.match(s.status('a').progress.get('b'), { state: 'probe', match: first, next: first + 1 }, 'b is probed right after its match');
  const probe = appendsToB(s);
  t.same(probe.map((m) => m.prevIndex), [first], 'the probe, at the match, is on its way');

  // Now a2's refusal arrives, at `first`, with a hint below it.
  s.deliver(staleRefusal);
  const pr = s.status('a').progress.get('b');
  t.ok(pr !== undefined && pr.next > pr.match, `next (${pr?.next}) stays past the match (${pr?.match}) (before: lowered to it)`);
  t.ok(
    appendsToB(s).every((m) => m.prevIndex >= first),
    'no append re-sends an entry b acknowledged (before: one from `first` again)',
  );
  // Nor the probe again: its own answer is on its way (lost-acknowledged-probe.test.ts: a
  // follower that lost what it acknowledged refuses every probe at its match, and a probe sent
  // again per refusal never ended).
  t.same(appendsToB(s), probe, 'the probe is not sent again');

  s.stabilize();
  t.equal(s.status('b').lastIndex, s.status('a').lastIndex, 'b has every entry');
  t.same(s.values('b'), s.values('a'), 'and applied them');
  t.equal(s.status('a').progress.get('b')?.state, 'replicate', 'and is replicated to again');
});

void t.test('an accept at the match of a follower probed right after it resumes replicate at once', async (t) => {
  const s = replicating();
  const first = s.status('a').lastIndex + 1;
  s.propose('a', 'k=1');
  const [a1] = appendsToB(s);
  const accept = deliverToB(s, a1!);
  s.deliver(accept);
  t.equal(s.status('a').progress.get('b')?.match, first, 'b acknowledged its first entry');

  s.propose('a', 'k=2');
  s.propose('a', 'k=3');
  const [a2, a3] = appendsToB(s);
  // a3 overtakes a2: refused, and the leader falls back to probing b from first+1.
  s.deliver(deliverToB(s, a3!));
  t.match(s.status('a').progress.get('b'), { state: 'probe', match: first, next: first + 1 }, 'b is probed');
  const probe = appendsToB(s).filter((m) => m !== a2);
  t.same(probe.map((m) => m.entries[0]?.index), [first + 1], 'one probe went out, from first+1');

  // The network duplicated b's accept of a1: a copy arrives now, at the match.
  s.deliver(accept);
  t.equal(s.status('a').progress.get('b')?.state, 'replicate', "the copy puts b back in replicate (before: probe, until the probe's answer)");
  const after = appendsToB(s).filter((m) => m !== a2 && !probe.includes(m));
  t.ok(
    after.some((m) => m.entries.some((e) => e.index === first + 2)),
    `the pipeline goes on without waiting for the probe's answer: appends from ${first + 1} again, up to ${first + 2}`,
  );

  s.stabilize();
  t.equal(s.status('b').lastIndex, s.status('a').lastIndex, 'b has every entry');
  t.same(s.values('b'), s.values('a'), 'and applied them');
});

void t.test('the rules at their bounds: probe state only, and never moving next back', async (t) => {
  const probed = (match: number, next: number): Progress => {
    const pr = new Progress(next, 4, false);
    pr.match = match;
    pr.probeSent = true;
    return pr;
  };
  // A refusal of the probe's own prev index, with a hint far below: lowered, but not to the match.
  const low = probed(5, 9);
  t.ok(low.maybeDecrTo(8, 2), 'a refusal of the probe is taken');
  t.equal(low.next, 6, 'next lowered to just past the match, not to the hint (3)');
  t.notOk(low.probeSent, 'and the probe may be re-sent');
  // A refusal at the match itself, the probe there out: nothing to lower, nothing to re-send.
  const atMatch = probed(5, 6);
  t.notOk(atMatch.maybeDecrTo(5, 2), 'a refusal at the match with the probe out is stale');
  t.ok(atMatch.probeSent && atMatch.next === 6, 'the probe stays out, at the match');
  const idle = probed(5, 6);
  idle.probeSent = false;
  t.ok(idle.maybeDecrTo(5, 2), 'with no probe out, the refusal lets one go');
  t.equal(idle.next, 6, 'at the match');

  t.ok(probed(5, 6).acceptedAtMatch(5), 'probe right after the match: an accept at it resumes replicate');
  // Further on (after a snapshot, or lowered to a hint): replicating from the match would re-send
  // what lies between, a compacted prefix as a second snapshot.
  t.notOk(probed(5, 9).acceptedAtMatch(5), 'probe further on: an accept at the match is stale');
  t.notOk(probed(5, 6).acceptedAtMatch(4), 'an accept below the match is stale');
  const replicating = probed(5, 6);
  replicating.becomeReplicate();
  t.notOk(replicating.acceptedAtMatch(5), 'in replicate an accept at the match moves nothing');
  const snap = probed(5, 6);
  snap.becomeSnapshot(20);
  t.notOk(snap.acceptedAtMatch(5), 'nor while a snapshot is on its way');
});
