/** Liveness after every heal, judged from synthetic samples and writes (chaos/liveness.ts). */
import t from 'tap';
import { LinkTable } from '../../chaos/link-faults.js';
import { judgeLiveness, LIVENESS_BOUND_ELECTION_TIMEOUTS } from '../../chaos/liveness.js';
import type { StatusSample, World } from '../../chaos/status-analysis.js';
import { computeTruth, type NodeCondition } from '../../chaos/truth.js';

const IDS = ['c1', 'c2', 'c3'];

function world(atMs: number, down: readonly string[], cause: string): World {
  const conds = new Map<string, NodeCondition>(IDS.map((id) => [id, { running: !down.includes(id), member: true, voter: true }]));
  return { atMs, truth: computeTruth(conds, new LinkTable()), cause, kind: cause === 'start' ? 'start' : 'fault' };
}

function sample(sampler: string, sentMs: number, leader: string | null): StatusSample {
  return { sampler, sentMs, receivedMs: sentMs + 5, stale: false, rows: IDS.map((id) => ({ id, online: true, leader: id === leader })) };
}

// c1 leads, is killed at 1 s (c2 takes over at 2.5 s), and restarted at 5 s.
const worlds = [world(0, [], 'start'), world(1000, ['c1'], 'kill c1'), world(5000, [], 'c1 starting')];
const electionTimeoutMs = 100;
const boundMs = LIVENESS_BOUND_ELECTION_TIMEOUTS * electionTimeoutMs;

void t.test('from each heal: the first majority-side answer naming a leader, the first write invoked after it', async (t) => {
  const samples = [sample('c2', 900, 'c1'), sample('c1', 5010, 'c1'), sample('c3', 5020, null), sample('c2', 5100, 'c2')];
  const writes = [
    { invokeMs: 4000, returnMs: 5050 }, // invoked before the heal: proves nothing about it
    { invokeMs: 5200, returnMs: 5230 },
    { invokeMs: 5300, returnMs: 5310 },
  ];
  const v = judgeLiveness([{ atMs: 5000, cause: 'restart c1' }], samples, worlds, writes, electionTimeoutMs);
  t.equal(v.boundMs, boundMs);
  t.strictSame(v.heals, [{ atMs: 5000, cause: 'restart c1', leaderMs: 15, writeMs: 230 }], "c1's own answer counts: the world after 5 s has it back");
  t.strictSame(v.problems, []);
});

void t.test('a minority node naming a leader proves nothing; a heal without leader or write misses the bound', async (t) => {
  // During the kill only c1 (down, so not on the majority side) would name itself.
  const samples = [sample('c1', 1200, 'c1'), sample('c2', 1300, null)];
  const v = judgeLiveness([{ atMs: 1100, cause: 'partition c1' }], samples, worlds, [], electionTimeoutMs);
  t.strictSame(v.heals, [{ atMs: 1100, cause: 'partition c1', leaderMs: null, writeMs: null }]);
  t.strictSame(v.problems, [`no leader and no acknowledged write within ${LIVENESS_BOUND_ELECTION_TIMEOUTS} election timeouts (${boundMs}ms) of the heal at 1.1s (partition c1)`]);
});

void t.test('later than the bound is as good as never', async (t) => {
  const late = 1000 + boundMs + 1;
  const v = judgeLiveness([{ atMs: 1000, cause: 'isolate c3' }], [sample('c2', 1010, 'c2')], worlds, [{ invokeMs: 1500, returnMs: late }], electionTimeoutMs);
  t.strictSame(v.heals[0], { atMs: 1000, cause: 'isolate c3', leaderMs: 15, writeMs: null });
  t.match(v.problems[0], /^no acknowledged write within/);
});
