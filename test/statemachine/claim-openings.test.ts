/**
 * The agents kind's order of claims by when their streams were admitted (claim-openings.ts, from
 * cluster version CLAIM_ORDER_VERSION), at apply and through a snapshot: what every replica
 * decides alike. The hub's side (a restarted agent kept from its old connection's late claim, an
 * older twin's stream refused) is in test/agents/superseded-process.test.ts.
 */
import t from 'tap';
import { AgentsStore } from '../../src/statemachine/agents.js';
import { SnapshotError } from '../../src/statemachine/errors.js';
import { CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION, UNORDERED_CLAIM_VERSION, StateMachine, type AgentReportEntry, type KindCommand } from '../../src/statemachine/index.js';
import { cluster, clusterVersion, run } from './mesh-helpers.js';
import { INFO, SYNC, disconnect, forget, report, store } from './one-agent-reports.js';

const T0 = 1_700_000_000_000;

const connect = (session: string, boot: string, opened: number | undefined, seq = 1, seen?: number): AgentReportEntry => ({
  op: 'connect',
  id: 'a1',
  session,
  epoch: { boot, seq },
  info: INFO,
  sync: SYNC,
  timeoutMs: 2000,
  pushes: 0,
  ...(opened === undefined ? {} : { opened }),
  ...(seen === undefined ? {} : { seen }),
});

function at(version: string): StateMachine {
  const sm = cluster();
  run(sm, clusterVersion(version));
  return sm;
}

void t.test("from the level, an old process's claim that never committed before loses to the newer process holding the agent", async (t) => {
  t.equal(CLAIM_ORDER_VERSION, '0.10');
  for (const version of [CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION]) {
    const sm = at(version);
    // The old process's stream was admitted at T0 on c3, whose report waits; it dies, and the
    // new process's stream, admitted a second later on c1, claims first.
    report(sm, 'c1', connect('c1:1', 'new', T0 + 1000));
    t.equal(store(sm).supersededBoot('a1'), null, 'no process was replaced before: the superseded fence knows nothing');
    const late = report(sm, 'c3', connect('c3:1', 'old', T0));
    if (version === CLAIM_ORDER_VERSION) {
      t.same(late, { applied: 0, ignored: 1 }, "at the level the late claim of the stream admitted first is ignored");
      t.match(store(sm).get('a1'), { controller: 'c1', session: 'c1:1', online: true, epoch: { boot: 'new' } });
      t.equal(store(sm).claimOpened('a1'), T0 + 1000);
    } else {
      t.same(late, { applied: 1, ignored: 0 }, 'below it, replicas decide as 0.9 did: the claim committed last wins');
      t.match(store(sm).get('a1'), { controller: 'c3', online: true });
      t.equal(store(sm).claimOpened('a1'), null, 'and nothing is remembered');
    }
  }
});

void t.test('the order binds only claims of other processes against a holder online, and only claims that say when', async (t) => {
  const sm = at(CLAIM_ORDER_VERSION);
  const agents = store(sm);
  report(sm, 'c1', connect('c1:1', 'p1', T0 + 5000));
  t.same(report(sm, 'c2', connect('c2:1', 'p1', T0 + 100, 2)), { applied: 1, ignored: 0 }, "a newer connection of the same process is ordered by its seq, whatever the controllers' clocks");
  t.equal(agents.claimOpened('a1'), T0 + 100, 'and its admission is the one remembered');
  t.same(report(sm, 'c3', connect('c3:1', 'p2', T0 + 200)), { applied: 1, ignored: 0 }, 'a stream of another process admitted later takes the agent');
  t.same(report(sm, 'c1', connect('c1:2', 'p3', T0 + 150)), { applied: 0, ignored: 1 }, 'one admitted before the holder loses');
  report(sm, 'c3', disconnect('c3:1'));
  t.same(report(sm, 'c1', connect('c1:3', 'p3', T0 + 150)), { applied: 1, ignored: 0 }, 'once the agent is offline any process may claim it');
  t.same(report(sm, 'c2', connect('c2:2', 'p4', undefined)), { applied: 1, ignored: 0 }, 'a claim that does not say when (proposed before the raise) is not ordered');
  t.equal(agents.claimOpened('a1'), null, 'and leaves its holder unordered');
  t.same(report(sm, 'c3', connect('c3:2', 'p5', T0)), { applied: 1, ignored: 0 }, 'so the next claim of another process takes it, as before the level');
  report(sm, 'c3', disconnect('c3:2'));
  report(sm, 'c3', forget('c3:2'));
  t.equal(agents.get('a1'), null);
  t.equal(agents.claimOpened('a1'), null, 'a forgotten agent leaves nothing behind');
});

void t.test('from UNORDERED_CLAIM_VERSION a claim built before the raise (saying nothing of its admission) loses to an ordered holder while the agent is online', async (t) => {
  // Agents simulation seed 337 --lossy: the old process's stream was admitted on c3 before c3
  // applied the raise (its claim says nothing), c3's report waited; the restarted process's
  // claim, ordered, committed first. Below the level the late claim took the agent and the new
  // process was refused as a second one for about 6 s.
  t.equal(UNORDERED_CLAIM_VERSION, '0.11');
  for (const version of [UNORDERED_CLAIM_VERSION, CLAIM_ORDER_VERSION]) {
    const strict = version === UNORDERED_CLAIM_VERSION;
    const sm = at(version);
    const agents = store(sm);
    report(sm, 'c1', connect('c1:1', 'new', T0 + 1000, 1, agents.transitionSeq));
    const late = report(sm, 'c3', connect('c3:1', 'old', undefined));
    if (strict) {
      t.same(late, { applied: 0, ignored: 1 }, `${version}: the unordered claim is ignored`);
      t.match(agents.get('a1'), { controller: 'c1', session: 'c1:1', online: true, epoch: { boot: 'new' } }, `${version}: the new process holds the agent`);
      t.equal(agents.supersededBoot('a1'), null, `${version}: and is not marked as replaced`);
    } else {
      t.same(late, { applied: 1, ignored: 0 }, `${version}: as 0.10.0 applies it, the unordered claim takes the agent`);
      t.equal(agents.supersededBoot('a1'), 'new', `${version}: and marks the new process as replaced`);
    }
  }
  const sm = at(UNORDERED_CLAIM_VERSION);
  const agents = store(sm);
  report(sm, 'c1', connect('c1:1', 'p1', T0 + 1000));
  t.same(report(sm, 'c2', connect('c2:1', 'p1', undefined, 2)), { applied: 1, ignored: 0 }, "the same process's newer connection is ordered by its seq");
  t.equal(agents.claimOpening('a1'), null, 'and, saying nothing, leaves its holder unordered');
  t.same(report(sm, 'c3', connect('c3:1', 'p2', undefined)), { applied: 1, ignored: 0 }, 'against an unordered holder an unordered claim applies as before');
  t.same(report(sm, 'c1', connect('c1:2', 'p3', T0 + 2000)), { applied: 1, ignored: 0 }, 'so does an ordered one');
  report(sm, 'c1', disconnect('c1:2'));
  t.same(report(sm, 'c2', connect('c2:2', 'p4', undefined)), { applied: 1, ignored: 0 }, 'once the agent is offline an unordered claim takes it');
  t.equal(agents.supersededBoot('a1'), 'p2', 'without marking the ordered holder it found offline (p3) as replaced: the mark is still the one p3 made');
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  report(sm, 'c1', connect('c1:3', 'p5', T0 + 3000));
  report(restored, 'c1', connect('c1:3', 'p5', T0 + 3000));
  t.same(report(restored, 'c3', connect('c3:2', 'p6', undefined)), { applied: 0, ignored: 1 }, 'a restored replica decides alike');
  t.same(report(sm, 'c3', connect('c3:2', 'p6', undefined)), { applied: 0, ignored: 1 });
  t.same(restored.snapshot(), sm.snapshot());
});

void t.test("a snapshot keeps the holders' admissions, its length is counted exactly, and its opened list is checked like the rest", async (t) => {
  const sm = at(CLAIM_ORDER_VERSION);
  report(sm, 'c1', connect('c1:1', 'new', T0 + 1000));
  const agents = store(sm);
  t.equal(agents.snapshotLength(), JSON.stringify(agents.snapshot()).length, 'snapshotLength is the JSON length');
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  t.equal(store(restored).claimOpened('a1'), T0 + 1000);
  t.same(report(restored, 'c3', connect('c3:1', 'old', T0)), { applied: 0, ignored: 1 }, 'and the restored replica decides alike');
  t.same(report(sm, 'c3', connect('c3:1', 'old', T0)), { applied: 0, ignored: 1 });
  t.same(restored.snapshot(), sm.snapshot(), 'both replicas hold the same state');

  const data = agents.snapshot() as { opened: unknown; transitionSeq: number };
  const since = data.transitionSeq;
  t.same(data.opened, [['a1', T0 + 1000, since]], 'the holder, when it was admitted, and the transition seq once its claim applied');
  const bad: [string, unknown][] = [
    ['an agent without a record', [['zz', T0, since]]],
    ['not a triple', [['a1', T0]]],
    ['a negative time', [['a1', -1, since]]],
    ['a time past the year 2255', [['a1', 9_000_000_000_001, since]]],
    ['not a number', [['a1', 'soon', since]]],
    ['a since beyond the transition seq', [['a1', T0, since + 1]]],
    ['a negative since', [['a1', T0, -1]]],
    ['twice', [['a1', 1, since], ['a1', 2, since]]],
    ['not a list', 'a1'],
  ];
  for (const [what, opened] of bad) {
    const fresh = new AgentsStore();
    t.throws(() => fresh.restore({ ...data, opened }), SnapshotError, what);
  }
  const none = at(SUPERSEDED_PROCESS_VERSION);
  report(none, 'c1', connect('c1:1', 'new', undefined));
  t.notOk('opened' in (store(none).snapshot() as object), 'below the level the snapshot has no opened list (0.9 members refuse the field)');
});

void t.test("a connect's opened is checked as it is parsed", async (t) => {
  const sm = at(CLAIM_ORDER_VERSION);
  for (const opened of [-1, 1.5, 9_000_000_000_001, 'x', null]) {
    const r = run(sm, { kind: 'agents', op: 'report', controller: 'c1', entries: [{ ...connect('c1:1', 'p', 0), opened }] } as unknown as KindCommand);
    t.notOk(r.ok, `opened ${JSON.stringify(opened)} refused`);
  }
  t.equal(store(sm).get('a1'), null, 'and nothing applied');
  for (const seen of [-1, 1.5, 'x', null]) {
    const r = run(sm, { kind: 'agents', op: 'report', controller: 'c1', entries: [connect('c1:1', 'p', 0, 1, seen as number)] } as unknown as KindCommand);
    t.notOk(r.ok, `seen ${JSON.stringify(seen)} refused`);
  }
  const alone = run(sm, { kind: 'agents', op: 'report', controller: 'c1', entries: [{ ...connect('c1:1', 'p', undefined), seen: 3 }] } as unknown as KindCommand);
  t.notOk(alone.ok, 'seen without opened refused');
  t.equal(store(sm).get('a1'), null, 'and nothing applied');
});

void t.test("a stream admitted by a controller that had applied the holder's claim is newer, whatever the controllers' clocks", async (t) => {
  // Agents simulation with skewed clocks (--skew 1000, seed 37): the old process's controller
  // read 3.6 s ahead; the restarted process's, behind it, admitted its stream a second later.
  const sm = at(CLAIM_ORDER_VERSION);
  const agents = store(sm);
  const before = agents.transitionSeq;
  report(sm, 'c3', connect('c3:1', 'old', T0 + 3600, 1, before));
  const applied = agents.transitionSeq;
  t.same(report(sm, 'c2', connect('c2:1', 'concurrent', T0 + 900, 1, applied - 1)), { applied: 0, ignored: 1 }, 'admitted before its controller applied the holder claim, and earlier by the clocks: ignored');
  t.same(report(sm, 'c2', connect('c2:2', 'new', T0 + 1000, 1, applied)), { applied: 1, ignored: 0 }, 'admitted after its controller applied it: takes the agent though its clock says earlier');
  t.match(agents.get('a1'), { controller: 'c2', session: 'c2:2', online: true });
  t.same(agents.claimOpening('a1'), { at: T0 + 1000, since: agents.transitionSeq }, 'and is the holder now');
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  const holder = agents.transitionSeq;
  for (const replica of [sm, restored]) {
    t.same(report(replica, 'c1', connect('c1:1', 'older', T0 + 500, 1, holder - 1)), { applied: 0, ignored: 1 }, 'a replica restored from the snapshot decides alike');
  }
  t.same(restored.snapshot(), sm.snapshot(), 'both replicas hold the same state');
  t.equal(agents.snapshotLength(), JSON.stringify(agents.snapshot()).length, 'snapshotLength is the JSON length');
});

void t.test("an old stream's late claim taking an offline agent does not mark the newer process as replaced", async (t) => {
  // As in the agents simulation, seed 337 --lossy (where the late claim, proposed before its
  // controller applied the raise, said nothing of its admission): a restarted agent's old stream's
  // claim, waiting at a controller the leader did not hear, took the record while the new
  // process's stream had just broken, and the superseded fence then refused the new process as a
  // second live one when it came back, until the old stream's record went offline.
  for (const version of [CLAIM_ORDER_VERSION, SUPERSEDED_PROCESS_VERSION]) {
    const sm = at(version);
    const agents = store(sm);
    const before = agents.transitionSeq;
    const order = version === CLAIM_ORDER_VERSION;
    report(sm, 'c2', connect('c2:1', 'new', order ? T0 + 1000 : undefined, 1, order ? before : undefined));
    report(sm, 'c2', disconnect('c2:1'));
    t.same(report(sm, 'c3', connect('c3:1', 'old', order ? T0 : undefined, 1, order ? before : undefined)), { applied: 1, ignored: 0 }, `${version}: the agent is offline: the late claim takes the record`);
    if (order) {
      t.equal(agents.supersededBoot('a1'), null, 'the new process is not taken for one the old replaced');
      t.same(report(sm, 'c2', connect('c2:2', 'new', T0 + 1000, 2, before)), { applied: 1, ignored: 0 }, 'so its claim made again takes the agent back');
      t.match(agents.get('a1'), { controller: 'c2', session: 'c2:2', online: true });
    } else {
      t.equal(agents.supersededBoot('a1'), 'new', 'below the level, as 0.9 decides: the new process counts as replaced');
    }
  }
});
