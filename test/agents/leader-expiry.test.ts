/**
 * The leader reports offline the agents of a controller nobody hears from, once that controller
 * has been silent for the agent's timeout, its grace and an election timeout; a record's timeout
 * counts as at most the detector's max_timeout, whatever a report said.
 */
import t from 'tap';
import { LeaderExpiry, type ExpiryInput } from '../../src/agents/leader-expiry.js';
import type { AgentRecord } from '../../src/statemachine/index.js';

/** The fields the rule reads; the rest of a record does not matter to it. */
const record = (id: string, timeoutMs: number): AgentRecord => ({ id, online: true, controller: 'c2', session: `c2-1-${id}`, timeoutMs }) as AgentRecord;

function input(records: readonly AgentRecord[], silentMs: number): ExpiryInput {
  return {
    self: 'c1',
    records,
    controller: () => ({ online: false, silentMs }),
    pingIntervalMs: 500,
    electionTimeoutMs: 1_000,
    maxTimeoutMs: 8_000,
    now: 100_000,
  };
}

void t.test('an honest timeout: due once the controller is silent past timeout + grace + election timeout', async (t) => {
  const honest = [record('a1', 3_000)];
  // 3,000 + max(1,000, 1,500) + 1,000 = 5,500.
  t.same(new LeaderExpiry().due(input(honest, 5_500)), [], 'not yet at 5,500 ms');
  t.same(
    new LeaderExpiry().due(input(honest, 5_501)).map((e) => [e.id, e.reason]),
    [['a1', 'controller c2 unreachable (silent for 5501ms)']],
  );
});

void t.test('a reported timeout beyond max_timeout counts as max_timeout: a phantom cannot stay online for days', async (t) => {
  const forged = [record('ghost', 2 ** 31 - 1)];
  // 8,000 + 4,000 + 1,000 = 13,000.
  t.same(new LeaderExpiry().due(input(forged, 13_000)), [], 'within the bound');
  t.same(
    new LeaderExpiry().due(input(forged, 13_001)).map((e) => e.id),
    ['ghost'],
    'past it, 24 days early',
  );
});
