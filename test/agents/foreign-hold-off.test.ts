/**
 * A controller of another cluster that welcomed the agent and was refused (cluster-guard.ts) is
 * held off (failover.ts, FOREIGN_HOLD_OFF_MS): the other controllers of the list go on at their
 * pace meanwhile, and when it is the only one left the agent waits out the hold-off. Before, the
 * refusal was a failed attempt like any other: the refusing controller was tried again at every
 * pass, 0-2 s apart, each try a claim and a push on that cluster.
 */
import t from 'tap';
import { BACKOFF_MAX_MS, Failover, FOREIGN_HOLD_OFF_MS } from '../../src/agent/failover.js';
import { seededRng } from '../../src/util/rng.js';

void t.test('the refusing controller is not tried again within its hold-off; the others are, at their pace', async (t) => {
  // Index 1 is the other cluster's controller, index 0 the held cluster's, down.
  const f = new Failover(2, 1, seededRng(3));
  let now = 0;
  let next = f.next('foreign', now);
  t.same(next, { index: 0, delayMs: 0 }, 'the next controller at once, as after a failed attempt');
  const tries: Array<{ index: number; at: number }> = [];
  while (now < 3 * FOREIGN_HOLD_OFF_MS) {
    now += next.delayMs + 1; // the attempt itself takes a millisecond
    tries.push({ index: next.index, at: now });
    // The held cluster's controller refuses to connect; the other cluster's refuses this agent.
    next = f.next(next.index === 0 ? 'failed' : 'foreign', now);
  }
  const refusing = tries.filter((x) => x.index === 1).map((x) => x.at);
  t.ok(refusing.length >= 2, `the refusing controller is tried again after its hold-off (${refusing.length} tries)`);
  t.ok(refusing[0]! >= FOREIGN_HOLD_OFF_MS, `first again at ${refusing[0]}ms`);
  for (let i = 1; i < refusing.length; i++) t.ok(refusing[i]! - refusing[i - 1]! >= FOREIGN_HOLD_OFF_MS, `then ${refusing[i]! - refusing[i - 1]!}ms apart`);
  const held = tries.filter((x) => x.index === 0).map((x) => x.at);
  const gaps = held.slice(1).map((at, i) => at - held[i]!);
  t.ok(gaps.every((g) => g <= 2 * (BACKOFF_MAX_MS * 1.2 + 1)), `the held cluster is tried meanwhile at its back-off (gaps up to ${Math.max(...gaps)}ms)`);
  t.ok(held.filter((at) => at < FOREIGN_HOLD_OFF_MS).length >= 3, `several times within the hold-off (${held.filter((at) => at < FOREIGN_HOLD_OFF_MS).length})`);
});

void t.test('the refusing controller alone on the list, or every controller refusing: the hold-off is waited out', async (t) => {
  const alone = new Failover(1, 0, seededRng(3));
  t.same(alone.next('foreign', 1_000), { index: 0, delayMs: FOREIGN_HOLD_OFF_MS }, 'alone: tried again once its hold-off ends, not within the back-off');
  const both = new Failover(2, 1, seededRng(3));
  t.same(both.next('foreign', 0), { index: 0, delayMs: 0 });
  t.same(both.next('foreign', 100), { index: 1, delayMs: FOREIGN_HOLD_OFF_MS - 100 }, 'both refusing: the one free soonest, once it is');
  const after = both.next('ended', 10_000);
  t.ok(after.index === 0 && after.delayMs < 100, `hold-offs past hold nothing back (${JSON.stringify(after)})`);
});
