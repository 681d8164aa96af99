/**
 * The hub's driver on a manual scheduler, time moving only when the test says: when its reports
 * go (gathered for 5 ms, held while its pushes await their replies, at most 100 ms) and how a
 * report that does not commit is retried (as it was, the same client sequence, backing off).
 */
import t from 'tap';
import type { SyncCall } from '../../src/agents/hub-driver.js';
import { IDLE_TICK_MS } from '../../src/agents/hub.js';
import { encodeAgentMessage } from '../../src/agents/wire.js';
import { StateMachine, agentsKind, encodeCommand, type AgentReportEntry, type KindCommand } from '../../src/statemachine/index.js';
import { ManualScheduler } from '../autopilot/manual-scheduler.js';
import { FakeCall, hubDriverOn } from './hub-driver-port.js';
import { applyCmd, svc } from './hub-harness.js';

interface Attempt {
  readonly at: number;
  readonly seq: number;
  readonly ops: readonly AgentReportEntry['op'][];
  readonly ok: boolean;
}

const HELLO = encodeAgentMessage({
  type: 'hello',
  agentId: 'a1',
  clusterId: '',
  hasConfig: false,
  version: 0,
  manifest: [],
  epoch: { boot: 'b', seq: 1 },
  info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] },
  hosts: [],
});

/**
 * One controller serving one agent; its first `failures` report attempts do not commit, and
 * with `hang` they never answer at all while `quorum.heard` is false (forwarded to a leader
 * behind a partition).
 */
function stage(failures: number, hang = false) {
  const time = new ManualScheduler();
  const quorum = { heard: true };
  const sm = new StateMachine();
  sm.apply(1, encodeCommand(applyCmd(svc('web'))));
  const attempts: Attempt[] = [];
  let failing = failures;
  const driver = hubDriverOn(
    sm,
    {
      readBarrier: () => Promise.resolve(),
      meshReport: () => Promise.resolve(),
      quorumContactAt: () => (quorum.heard ? time.now() : null),
      leaderContactAt: () => (quorum.heard ? time.now() : null),
      report: async (entries, client) => {
        if (hang && !quorum.heard) {
          attempts.push({ at: time.now(), seq: client.seq, ops: entries.map((e) => e.op), ok: false });
          return new Promise<void>(() => undefined);
        }
        const ok = failing-- <= 0;
        attempts.push({ at: time.now(), seq: client.seq, ops: entries.map((e) => e.op), ok });
        if (!ok) throw new Error('no leader to commit it');
        sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'agents', op: 'report', controller: 'c1', entries, client } as KindCommand));
        time.soon(() => driver.onApplied());
      },
    },
    'c1:time',
    time,
  );
  driver.start();
  const call = new FakeCall(() => time.now());
  driver.serve(call as unknown as SyncCall);
  call.emit('data', HELLO);
  /** Moves time 1 ms at a time, letting the driver's promises run in between. */
  const advance = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms; i++) {
      time.advance(1);
      await new Promise((r) => setImmediate(r));
    }
  };
  const pushed = async (): Promise<{ nonce: number; version: number; at: number }> => {
    for (let i = 0; i < 1000; i++) {
      const i = call.written.findIndex((w) => w.type === 'CONTROLLER_MESSAGE_PUSH');
      const push = call.written[i];
      if (push !== undefined) return { nonce: push.nonce, version: push.version, at: call.writtenAt[i]! };
      await advance(1);
    }
    throw new Error('no push within 1000 ms');
  };
  const ack = (p: { nonce: number; version: number }): void => void call.emit('data', encodeAgentMessage({ type: 'ack', nonce: p.nonce, version: p.version }));
  return { time, sm, driver, attempts, advance, pushed, ack, quorum, call };
}

void t.test('a report waits while the pushes await their replies, at most 100 ms, and goes 5 ms after the last reply', async (t) => {
  const { sm, driver, attempts, advance, pushed, ack, time } = stage(0);
  t.teardown(() => driver.stop());
  const push = await pushed();
  // The claim is due now, but the push is unanswered: its ACK should ride in the same report.
  await advance(95 - (time.now() - push.at));
  t.same(attempts, [], 'held while the push awaits its reply');
  await advance(15);
  t.equal(attempts.length, 1, 'sent once it was due for 100 ms');
  t.equal(attempts[0]!.at - push.at, 100, 'sent 100 ms after it was due (the claim, with the push)');
  t.same(attempts[0]!.ops, ['connect']);
  ack(push);
  const ackedAt = time.now();
  await advance(10);
  t.equal(attempts.length, 2);
  t.equal(attempts[1]!.at - ackedAt, 5, 'the ACK goes 5 ms after it came: nothing else awaits a reply');
  t.same(attempts[1]!.ops, ['sync']);
  t.match(sm.view(agentsKind).get('a1'), { online: true, sentVersion: push.version, ackedVersion: push.version, pushes: 1 });
});

void t.test('a report that does not commit is retried as it was, backing off 20, 40, 80 ms, and applied once', async (t) => {
  const { sm, driver, attempts, advance, pushed, ack } = stage(3);
  t.teardown(() => driver.stop());
  ack(await pushed());
  await advance(300);
  t.same(attempts.map((a) => a.ok), [false, false, false, true]);
  t.same(new Set(attempts.map((a) => a.seq)).size, 1, 'one client sequence: the state machine applies it once');
  t.same(attempts.slice(1).map((a, i) => a.at - attempts[i]!.at), [20, 40, 80]);
  t.same(attempts[0]!.ops, ['connect'], 'the claim with the ACK folded in');
  t.match(sm.view(agentsKind).get('a1'), { online: true, ackedVersion: 1, pushes: 1 });
  t.equal(driver.stats.failedReports, 3);
});

void t.test('a report stuck while the controller was cut off is retried at once when it hears a quorum again', async (t) => {
  const { sm, driver, attempts, advance, pushed, ack, quorum, time } = stage(0, true);
  t.teardown(() => driver.stop());
  const push = await pushed();
  quorum.heard = false;
  ack(push);
  await advance(50);
  t.equal(attempts.length, 1, 'the report went out while no quorum was heard');
  t.equal(attempts[0]!.ok, false);
  // It never answers: only the driver can move on. Cut off after 85% of an election timeout.
  await advance(2000);
  t.equal(attempts.length, 1, 'no second attempt while the first still runs and no quorum is heard');
  quorum.heard = true;
  const healedAt = time.now();
  await advance(300);
  t.equal(attempts.length, 2, 'tried again once a quorum is heard');
  // Cut off, it closed its streams: serving nobody, it ticks every IDLE_TICK_MS.
  t.ok(attempts[1]!.at - healedAt <= IDLE_TICK_MS, `within a tick of the quorum coming back (${attempts[1]!.at - healedAt} ms)`);
  t.equal(attempts[1]!.seq, attempts[0]!.seq, 'as it was: the same client sequence');
  t.match(sm.view(agentsKind).get('a1'), { ackedVersion: push.version, pushes: 1 });
});
