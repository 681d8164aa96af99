/**
 * The agents kind's fence against a replaced process's claims (superseded-boots.ts, from cluster
 * version SUPERSEDED_PROCESS_VERSION), at apply and through a snapshot: what every replica decides
 * alike. The hub's side (a live process kept, a second one refused everywhere) is in
 * test/agents/superseded-process.test.ts.
 */
import t from 'tap';
import { AgentsStore } from '../../src/statemachine/agents.js';
import { SnapshotError } from '../../src/statemachine/errors.js';
import { StateMachine, SUPERSEDED_PROCESS_VERSION, type AgentReportEntry } from '../../src/statemachine/index.js';
import { cluster, clusterVersion, run } from './mesh-helpers.js';
import { INFO, SYNC, disconnect, forget, report, store } from './one-agent-reports.js';


const connect = (session: string, boot: string, seq = 1): AgentReportEntry => ({ op: 'connect', id: 'a1', session, epoch: { boot, seq }, info: INFO, sync: SYNC, timeoutMs: 2000, pushes: 0 });

void t.test('from the level, the process a claim of another replaced loses while the agent is online, and may claim once it is offline', async (t) => {
  const sm = cluster();
  run(sm, clusterVersion(SUPERSEDED_PROCESS_VERSION));
  const agents = store(sm);
  report(sm, 'c1', connect('c1:1', 'old'));
  t.equal(agents.supersededBoot('a1'), null, 'a first claim replaces no process');
  report(sm, 'c1', connect('c1:2', 'old', 2));
  t.equal(agents.supersededBoot('a1'), null, 'a newer connection of the same process is no other process');
  report(sm, 'c2', connect('c2:1', 'new'));
  t.equal(agents.supersededBoot('a1'), 'old');
  t.same(report(sm, 'c3', connect('c3:1', 'old', 9)), { applied: 0, ignored: 1 }, "the old process's claim, however late its seq, is ignored");
  t.match(agents.get('a1'), { controller: 'c2', session: 'c2:1', online: true, epoch: { boot: 'new' } });
  report(sm, 'c2', disconnect('c2:1'));
  t.same(report(sm, 'c3', connect('c3:2', 'old', 10)), { applied: 1, ignored: 0 }, 'once the agent is offline any process may claim it');
  t.equal(agents.supersededBoot('a1'), 'new', 'and the process it replaced is the one remembered');
  report(sm, 'c3', disconnect('c3:2'));
  report(sm, 'c3', forget('c3:2'));
  t.equal(agents.get('a1'), null);
  t.equal(agents.supersededBoot('a1'), null, 'a forgotten agent leaves nothing behind');
});

void t.test('below the level a later claim of any process takes the agent, and nothing is remembered', async (t) => {
  const sm = cluster();
  run(sm, clusterVersion('0.8'));
  report(sm, 'c1', connect('c1:1', 'old'));
  report(sm, 'c2', connect('c2:1', 'new'));
  t.same(report(sm, 'c3', connect('c3:1', 'old', 2)), { applied: 1, ignored: 0 });
  t.match(store(sm).get('a1'), { controller: 'c3', online: true });
  t.equal(store(sm).supersededBoot('a1'), null);
});

void t.test("a snapshot keeps what was replaced; a snapshot's superseded list is checked like the rest", async (t) => {
  const sm = cluster();
  run(sm, clusterVersion(SUPERSEDED_PROCESS_VERSION));
  report(sm, 'c1', connect('c1:1', 'old'));
  report(sm, 'c2', connect('c2:1', 'new'));
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  t.equal(store(restored).supersededBoot('a1'), 'old');
  t.same(report(restored, 'c3', connect('c3:1', 'old', 2)), { applied: 0, ignored: 1 }, 'and the restored replica decides alike');

  const data = store(sm).snapshot() as { superseded: unknown };
  const bad: [string, unknown][] = [
    ['an agent without a record', [['zz', 'old']]],
    ['not a pair', [['a1']]],
    ['an empty boot', [['a1', '']]],
    ['twice', [['a1', 'x'], ['a1', 'y']]],
    ['not a list', 'a1'],
  ];
  for (const [what, superseded] of bad) {
    const fresh = new AgentsStore();
    t.throws(() => fresh.restore({ ...data, superseded }), SnapshotError, what);
  }
});
