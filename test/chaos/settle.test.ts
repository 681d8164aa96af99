/** When a chaos run may start: the detectors' timeouts past the start-up's round trips (chaos/settle.ts). */
import t from 'tap';
import { medianPeerTimeoutMs, settleBudgetMs, settledTimeoutMs } from '../../chaos/settle.js';
import type { StatusSample } from '../../chaos/status-analysis.js';

/** An answer of `sampler` at `atMs` whose rows report these timeouts (its own row: 0). */
function answer(sampler: string, atMs: number, timeouts: Record<string, number>): StatusSample {
  const rows = [{ id: sampler, online: true, leader: false, timeoutMs: 0 }, ...Object.entries(timeouts).map(([id, timeoutMs]) => ({ id, online: true, leader: false, timeoutMs }))];
  return { sampler, sentMs: atMs, receivedMs: atMs + 5, rows, stale: false };
}

void t.test('the wait is one window of pings, and settled is base plus half a ping interval', async (t) => {
  t.equal(settleBudgetMs(2000), 16 * 500, 'base 2 s: 16 pings 500 ms apart');
  t.equal(settleBudgetMs(500), 16 * 125, 'base 500 ms: 16 pings 125 ms apart');
  t.equal(settledTimeoutMs(2000), 2250);
  t.equal(settledTimeoutMs(500), 562.5);
});

void t.test("the median over every node's latest answer, its own row left out", async (t) => {
  const nodes = ['c1', 'c2', 'c3'];
  t.equal(medianPeerTimeoutMs([answer('c1', 0, { c2: 3400, c3: 3500 }), answer('c2', 0, { c1: 3300, c3: 3600 })], nodes), null, 'c3 has not answered yet');
  const startUp = [answer('c1', 0, { c2: 3400, c3: 3500 }), answer('c2', 0, { c1: 3300, c3: 3600 }), answer('c3', 0, { c1: 3200, c2: 3450 })];
  t.equal(medianPeerTimeoutMs(startUp, nodes), 3400, 'just after the start: the start-up round trips');
  const later = [...startUp, answer('c1', 5000, { c2: 2100, c3: 2150 }), answer('c2', 5000, { c1: 2120, c3: 2900 }), answer('c3', 5000, { c1: 2110, c2: 2130 })];
  t.equal(medianPeerTimeoutMs(later, nodes), 2120, 'the latest answers count, and one slow peer does not hold the run back');
  t.ok(medianPeerTimeoutMs(later, nodes)! <= settledTimeoutMs(2000), 'settled');
  t.ok(medianPeerTimeoutMs(startUp, nodes)! > settledTimeoutMs(2000), 'not settled');
  const noTimeouts: StatusSample[] = nodes.map((id) => ({ sampler: id, sentMs: 0, receivedMs: 1, rows: [{ id, online: true, leader: false }], stale: false }));
  t.equal(medianPeerTimeoutMs(noTimeouts, nodes), null, 'answers without timeouts tell nothing');
});
