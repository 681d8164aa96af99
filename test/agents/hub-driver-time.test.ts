/**
 * The hub's driver on a manual scheduler, time moving only when the test says: when its reports
 * go (gathered for 5 ms, held while its pushes await their replies, at most 100 ms; nothing but
 * ACKs, at most once per ACK_REPORT_PACE_MS) and how a report that does not commit is retried
 * (as it was, the same client sequence, backing off).
 */
import t from 'tap';
import { ACK_REPORT_PACE_MS, type SyncCall } from '../../src/agents/hub-driver.js';
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

const HELLO_MESSAGE = {
  type: 'hello',
  agentId: 'a1',
  clusterId: '',
  clusterName: '',
  hasConfig: false,
  version: 0,
  manifest: [],
  epoch: { boot: 'b', seq: 1 },
  info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] },
  hosts: [],
  rejectedVersion: null,
  pushParts: false,
} as const;
const HELLO = encodeAgentMessage(HELLO_MESSAGE);

/**
 * One controller serving one agent; its first `failures` report attempts do not commit, and
 * with `hang` they never answer at all while `quorum.heard` is false (forwarded to a leader
 * behind a partition).
 */
function stage(failures: number, hang = false) {
  const time = new ManualScheduler();
  const quorum = { heard: true };
  /** While true, the leader is heard but never answers a report (it does not hear us): each attempt fails at its deadline. */
  const unheard = { now: false };
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
      report: async (entries, client, timeoutMs) => {
        if (unheard.now) {
          attempts.push({ at: time.now(), seq: client.seq, ops: entries.map((e) => e.op), ok: false });
          return new Promise<void>((_, reject) => time.after(timeoutMs, () => reject(new Error('deadline exceeded'))));
        }
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
  /** While true, the agent answers every ping (as a live agent does). */
  const ponging = { on: false };
  let ponged = 0;
  /** Moves time 1 ms at a time, letting the driver's promises run in between. */
  const advance = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms; i++) {
      time.advance(1);
      await new Promise((r) => setImmediate(r));
      for (; ponging.on && ponged < call.written.length; ponged++) {
        const w = call.written[ponged]!;
        if (w.type === 'CONTROLLER_MESSAGE_PING') call.emit('data', encodeAgentMessage({ type: 'pong', seq: w.seq }));
      }
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
  const nack = (p: { nonce: number; version: number }): void => void call.emit('data', encodeAgentMessage({ type: 'nack', nonce: p.nonce, version: p.version, error: 'no' }));
  /** A change to the agent's configuration, applied: the driver pushes it. */
  const change = (name: string): void => {
    sm.apply(sm.appliedIndex + 1, encodeCommand(applyCmd(svc(name))));
    driver.onApplied();
  };
  /** The next push after the `seen` messages written so far. */
  const pushedAfter = async (seen: number): Promise<{ nonce: number; version: number; at: number }> => {
    for (let i = 0; i < 1000; i++) {
      const at = call.written.findIndex((w, j) => j >= seen && w.type === 'CONTROLLER_MESSAGE_PUSH');
      if (at >= 0) return { nonce: call.written[at]!.nonce, version: call.written[at]!.version, at: call.writtenAt[at]! };
      await advance(1);
    }
    throw new Error('no push within 1000 ms');
  };
  return { time, sm, driver, attempts, advance, pushed, pushedAfter, ack, nack, change, ponging, quorum, unheard, call };
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
  t.equal(attempts[1]!.at - ackedAt, 5, 'the ACK goes 5 ms after it came: nothing else awaits a reply (the first since the claim: not paced)');
  t.same(attempts[1]!.ops, ['sync']);
  t.match(sm.view(agentsKind).get('a1'), { online: true, sentVersion: push.version, ackedVersion: push.version, pushes: 1 });
});

void t.test('an agent in step: its next ACK waits out the pace, after a quiet spell it goes 5 ms after it came; a NACK goes at once', async (t) => {
  const { driver, attempts, advance, pushed, pushedAfter, ack, nack, change, ponging, call, time, sm } = stage(0);
  t.teardown(() => driver.stop());
  ponging.on = true;
  const first = await pushed();
  ack(first);
  await advance(120);
  t.same(attempts.at(-1)?.ops, ['connect'], 'the claim reported, its ACK folded in');
  let seen = call.written.length;
  change('web2');
  const acked = await pushedAfter(seen);
  ack(acked);
  await advance(10);
  t.same(attempts.at(-1)?.ops, ['sync'], 'the first ACK after the claim reported at once');
  const inStepAt = attempts.at(-1)!.at;
  // A change within the pace: its ACK is all the report would hold, and it waits.
  seen = call.written.length;
  change('api');
  const second = await pushedAfter(seen);
  ack(second);
  let reports = attempts.length;
  await advance(inStepAt + ACK_REPORT_PACE_MS - 1 - time.now());
  t.equal(attempts.length, reports, 'the ACK of an agent in step is held within the pace');
  await advance(10);
  t.equal(attempts.length, reports + 1);
  t.equal(attempts[reports]!.at - inStepAt, ACK_REPORT_PACE_MS, 'it goes once the pace since the report before it is over');
  t.match(sm.view(agentsKind).get('a1'), { ackedVersion: second.version, sentVersion: second.version });
  // A change long after the last report: its ACK goes as an isolated change's always did.
  await advance(ACK_REPORT_PACE_MS + 100);
  reports = attempts.length;
  seen = call.written.length;
  change('db');
  const third = await pushedAfter(seen);
  ack(third);
  const ackedAt = time.now();
  await advance(10);
  t.equal(attempts.length, reports + 1, 'the ACK reported');
  t.equal(attempts[reports]!.at - ackedAt, 5, 'the ACK goes 5 ms after it came: no report within the pace before it');
  // Within the pace, a NACK is more than good news: it is not held.
  seen = call.written.length;
  change('queue');
  const fourth = await pushedAfter(seen);
  nack(fourth);
  const nackedAt = time.now();
  await advance(10);
  t.equal(attempts.length, reports + 2, 'the NACK reported within the pace');
  t.equal(attempts[reports + 1]!.at - nackedAt, 5, 'the NACK goes 5 ms after it came');
  t.match(sm.view(agentsKind).get('a1'), { nackedVersion: fourth.version, ackedVersion: third.version });
});

void t.test('ACKs a paced report had no room for go right after it, not a pace later', async (t) => {
  const time = new ManualScheduler();
  const sm = new StateMachine();
  sm.apply(1, encodeCommand(applyCmd(svc('web'))));
  const attempts: Attempt[] = [];
  const driver = hubDriverOn(
    sm,
    {
      readBarrier: () => Promise.resolve(),
      meshReport: () => Promise.resolve(),
      quorumContactAt: () => time.now(),
      leaderContactAt: () => time.now(),
      report: async (entries, client) => {
        attempts.push({ at: time.now(), seq: client.seq, ops: entries.map((e) => e.op), ok: true });
        sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'agents', op: 'report', controller: 'c1', entries, client } as KindCommand));
        time.soon(() => driver.onApplied());
      },
    },
    'c1:time',
    time,
    { maxReportEntries: 1 },
  );
  driver.start();
  t.teardown(() => driver.stop());
  const calls = ['a1', 'a2'].map((agentId) => {
    const call = new FakeCall(() => time.now());
    driver.serve(call as unknown as SyncCall);
    call.emit('data', encodeAgentMessage({ ...HELLO_MESSAGE, agentId }));
    return call;
  });
  const answered = calls.map(() => 0);
  /** Moves time 1 ms at a time; the agents answer every push and ping at once. */
  const advance = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms; i++) {
      time.advance(1);
      await new Promise((r) => setImmediate(r));
      calls.forEach((call, c) => {
        for (; answered[c]! < call.written.length; answered[c]!++) {
          const w = call.written[answered[c]!]!;
          if (w.type === 'CONTROLLER_MESSAGE_PING') call.emit('data', encodeAgentMessage({ type: 'pong', seq: w.seq }));
          if (w.type === 'CONTROLLER_MESSAGE_PUSH') call.emit('data', encodeAgentMessage({ type: 'ack', nonce: w.nonce, version: w.version }));
        }
      });
    }
  };
  const change = (name: string): void => {
    sm.apply(sm.appliedIndex + 1, encodeCommand(applyCmd(svc(name))));
    driver.onApplied();
  };
  // Claimed, then a first ACK each after the claims: both agents are in step.
  await advance(200);
  change('api');
  await advance(200);
  const inStep = ['a1', 'a2'].map((id) => sm.view(agentsKind).get(id)?.ackedVersion);
  t.same(inStep, [sm.revision(), sm.revision()], 'both acknowledged the change');
  // A change within the pace: both ACKs are paced, one report each (one entry per report).
  const before = attempts.length;
  change('db');
  await advance(ACK_REPORT_PACE_MS + 50);
  const paced = attempts.slice(before);
  t.equal(paced.length, 2, 'two reports of one ACK each');
  t.ok(paced[1]!.at - paced[0]!.at < 10, `the second right after the first (${paced[1]!.at - paced[0]!.at} ms), not a pace later`);
  t.same(['a1', 'a2'].map((id) => sm.view(agentsKind).get(id)?.ackedVersion), [sm.revision(), sm.revision()]);
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

/** Answers every ping written to these calls since the last time, as a live agent does. */
function answerPings(calls: readonly FakeCall[], answered: Map<FakeCall, number>): void {
  for (const c of calls) {
    let n = answered.get(c) ?? 0;
    for (; n < c.written.length; n++) {
      const w = c.written[n]!;
      if (w.type === 'CONTROLLER_MESSAGE_PING') c.emit('data', encodeAgentMessage({ type: 'pong', seq: w.seq }));
    }
    answered.set(c, n);
  }
}

void t.test('reports the leader never answers while it is heard close the streams after three election timeouts, until one commits', async (t) => {
  const { sm, driver, attempts, advance, pushed, ack, unheard, time, call } = stage(0);
  t.teardown(() => driver.stop());
  const errorOf = (c: FakeCall): { current: { code: number; details: string } | null } => {
    const box: { current: { code: number; details: string } | null } = { current: null };
    c.on('error', (e: { code: number; details: string }) => (box.current = e));
    return box;
  };
  const closed = errorOf(call);
  // Its agents answer every ping, so only the rule under test can close their streams.
  const answered = new Map<FakeCall, number>();
  const live = async (ms: number, calls: readonly FakeCall[]): Promise<void> => {
    for (let i = 0; i < ms; i += 10) {
      await advance(10);
      answerPings(calls, answered);
    }
  };
  const push = await pushed();
  unheard.now = true;
  ack(push);
  await live(50, [call]);
  t.equal(attempts.length, 1, 'the report went out');
  const sentAt = attempts[0]!.at;
  await live(2900, [call]);
  t.equal(closed.current, null, 'kept while the report is out for less than three election timeouts');
  t.ok(attempts.length >= 2, `retried at its deadline (${attempts.length} attempts)`);
  await live(200, [call]);
  t.match(closed.current, { code: 14, details: /c1 is not heard by the leader \(a report of its agents unanswered for \d+ms, though the leader is heard\)/ }, `UNAVAILABLE ${time.now() - sentAt} ms after the report went out`);
  const next = new FakeCall(() => time.now());
  const refused = errorOf(next);
  driver.serve(next as unknown as SyncCall);
  t.match(refused.current, { code: 14, details: /not heard by the leader/ }, 'a new stream is refused');
  unheard.now = false;
  await advance(2500);
  t.match(sm.view(agentsKind).get('a1'), { ackedVersion: push.version }, 'the report commits once the leader hears us');
  const again = new FakeCall(() => time.now());
  const refusedAgain = errorOf(again);
  driver.serve(again as unknown as SyncCall);
  again.emit('data', HELLO);
  await live(5000, [again]);
  t.ok(again.written.some((w) => w.type === 'CONTROLLER_MESSAGE_WELCOME'), 'served again');
  t.equal(refusedAgain.current, null, 'and kept past three election timeouts: nothing is out any more');
});
