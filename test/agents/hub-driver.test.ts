/**
 * The hub's driver with a stream that is an event emitter and reports applied to a real state
 * machine: agent reports and mesh reports (a publish, a /resolve miss) are each exactly-once
 * under a client id of their own, so neither is refused as stale when both are in flight.
 */
import client from 'prom-client';
import t from 'tap';
import type { HubDriver, SyncCall } from '../../src/agents/hub-driver.js';
import { encodeAgentMessage } from '../../src/agents/wire.js';
import { StateMachine, agentsKind, encodeCommand, meshKind, type ApplyResult, type KindCommand } from '../../src/statemachine/index.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { waitFor } from '../helpers/wait-for.js';
import { FakeCall, hubDriverOn } from './hub-driver-port.js';

void t.test('agent reports and mesh reports commit under their own client ids, none refused as stale', async (t) => {
  const sm = new StateMachine();
  const results: { what: string; client: { id: string; seq: number }; result: ApplyResult }[] = [];
  const propose = (what: string, cmd: KindCommand, client: { id: string; seq: number }): void => {
    const result = sm.apply(sm.appliedIndex + 1, encodeCommand({ ...cmd, client }));
    results.push({ what, client, result });
    setImmediate(() => driver.onApplied());
    if (!result.ok) throw new Error(result.message);
  };
  const driver: HubDriver = hubDriverOn(sm, {
    readBarrier: () => Promise.resolve(),
    // Agent reports commit late (a slower path to the leader): mesh reports overtake them.
    report: async (entries, client) => {
      await new Promise((r) => setTimeout(r, 20));
      propose('agents', { kind: 'agents', op: 'report', controller: 'c1', entries } as KindCommand, client);
    },
    meshReport: async (report, client) => propose('mesh', { ...report, at: Date.now() } as KindCommand, client),
  });
  driver.start();
  t.teardown(() => driver.stop());
  const call = new FakeCall();
  driver.serve(call as unknown as SyncCall);
  const hello = { type: 'hello' as const, agentId: 'edge', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: true, dependencies: [], hosts: ['web'] }, hosts: [{ name: 'web', spec: { protocol: 'http', ports: [80] }, labels: {} }] };
  call.emit('data', encodeAgentMessage(hello));
  await waitFor(() => sm.view(meshKind).get('service', 'web') !== null, 'web published', 5000);
  // The agent ACKs its pushes (agent reports) while it reports misses (mesh reports).
  for (let i = 0; i < 5; i++) {
    call.emit('data', encodeAgentMessage({ type: 'usage', missed: [`dep-${i}`], used: [] }));
    for (const m of call.written.filter((w) => w.type === 'CONTROLLER_MESSAGE_PUSH')) call.emit('data', encodeAgentMessage({ type: 'ack', nonce: m.nonce, version: m.version }));
    call.written.length = 0;
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor(() => sm.view(meshKind).declaration('edge')?.observed.size === 5, 'five dependencies recorded', 5000);
  const ids = new Set(results.map((r) => `${r.what} ${r.client.id.endsWith('/mesh') ? 'mesh id' : 'agents id'}`));
  t.same([...ids].sort(), ['agents agents id', 'mesh mesh id'], 'each kind of report under its own id');
  t.ok(results.every((r) => r.result.ok), 'every report applied, none refused as stale');
  for (const what of ['agents', 'mesh']) {
    const seqs = results.filter((r) => r.what === what).map((r) => r.client.seq);
    t.same(seqs, seqs.map((_, i) => i + 1), `${what} reports: sequences 1, 2, ... with no gap`);
  }
  t.match(sm.view(agentsKind).get('edge'), { online: true });
});

void t.test('a report refused as stale (another client used its client id) goes on under a new id and commits', async (t) => {
  const sm = new StateMachine();
  const sent: { id: string; seq: number; ok: boolean }[] = [];
  let poisoned: string | null = null;
  const propose = (cmd: KindCommand, client: { id: string; seq: number }): void => {
    // The attack, on the first id the controller reports under: a request under its id with a
    // seq far past its own, applied first.
    if (poisoned === null) {
      poisoned = client.id;
      sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'kv', op: 'put', key: 'x', value: 'y', client: { id: client.id, seq: 2 ** 50 } } as KindCommand));
    }
    const result = sm.apply(sm.appliedIndex + 1, encodeCommand({ ...cmd, client }));
    sent.push({ ...client, ok: result.ok });
    setImmediate(() => driver.onApplied());
    // As the leader answers it (mesh-ops.ts).
    if (!result.ok) throw new ServiceFailure(result.code === 'STALE_REQUEST' ? 'STALE_REQUEST' : 'INTERNAL', result.message);
  };
  const driver: HubDriver = hubDriverOn(sm, {
    readBarrier: () => Promise.resolve(),
    report: async (entries, client) => {
      propose({ kind: 'agents', op: 'report', controller: 'c1', entries } as KindCommand, client);
    },
    meshReport: async (report, client) => propose({ ...report, at: Date.now() } as KindCommand, client),
  });
  driver.start();
  t.teardown(() => driver.stop());
  const call = new FakeCall();
  driver.serve(call as unknown as SyncCall);
  call.emit('data', encodeAgentMessage({ type: 'hello', agentId: 'edge', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] }));
  await waitFor(() => sm.view(agentsKind).get('edge')?.online === true, 'the agent claimed despite the poisoned id', 5000);
  const first = sent[0]!;
  t.match(first, { seq: 1, ok: false }, 'the first report was refused as stale');
  t.ok(first.id.startsWith('agents/'), first.id);
  const after = sent.find((s) => s.ok);
  t.ok(after !== undefined && after.id !== first.id && after.seq === 1, `then committed under a new id from seq 1 (${JSON.stringify(after)})`);
});

void t.test('a report the leader refuses as invalid is dropped, not retried for ever: the reports after it commit', async (t) => {
  const sm = new StateMachine();
  let attempts = 0;
  const driver: HubDriver = hubDriverOn(sm, {
    readBarrier: () => Promise.resolve(),
    report: async (entries, client) => {
      attempts++;
      // The first report cannot be proposed (as one too large for an entry could not).
      if (attempts === 1) throw new ServiceFailure('INVALID_ARGUMENT', 'command: expected at most 1114112 bytes encoded');
      const result = sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'agents', op: 'report', controller: 'c1', entries, client } as KindCommand));
      setImmediate(() => driver.onApplied());
      if (!result.ok) throw new Error(result.message);
    },
    meshReport: () => Promise.resolve(),
  });
  driver.start();
  t.teardown(() => driver.stop());
  const hello = (agentId: string) => encodeAgentMessage({ type: 'hello', agentId, clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: agentId, seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] });
  const first = new FakeCall();
  driver.serve(first as unknown as SyncCall);
  first.emit('data', hello('edge-1'));
  await waitFor(() => attempts >= 1, 'the first report sent', 5000);
  const second = new FakeCall();
  driver.serve(second as unknown as SyncCall);
  second.emit('data', hello('edge-2'));
  await waitFor(() => sm.view(agentsKind).get('edge-2')?.online === true, 'the next report committed', 5000);
  t.equal(attempts, 2, 'the refused report was sent once');
  const registry = new client.Registry();
  driver.registerMetrics(registry);
  t.match(await registry.metrics(), /agents_reports_refused_total 1\b/);
});

void t.test('a push larger than one message can carry is not written: the stream stays open, the agent STALE, and it is counted', async (t) => {
  const sm = new StateMachine();
  sm.apply(1, encodeCommand({ kind: 'mesh', op: 'apply', resources: Array.from({ length: 20 }, (_, i) => ({ kind: 'service', name: `s${i}`, spec: { protocol: 'http', ports: [80] }, labels: {} })) } as KindCommand));
  const driver: HubDriver = hubDriverOn(sm, { readBarrier: () => Promise.resolve(), report: async () => undefined, meshReport: async () => undefined, maxPushBodyBytes: 1024 });
  driver.start();
  t.teardown(() => driver.stop());
  const call = new FakeCall();
  const ended: unknown[] = [];
  call.on('error', (e) => ended.push(e));
  driver.serve(call as unknown as SyncCall);
  const hello = { type: 'hello' as const, agentId: 'edge', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] };
  call.emit('data', encodeAgentMessage(hello));
  await waitFor(() => driver.stats.tooLargePushes === 1, 'the push judged too large', 5000);
  t.equal(call.written.filter((w) => w.type === 'CONTROLLER_MESSAGE_PUSH').length, 0, 'no push written');
  t.same(ended, [], 'the stream is not ended (gRPC would have, and the agent would come back for the same)');
  t.equal(driver.stats.pushBytes, 0);
});

void t.test("refuseWhere ends, PERMISSION_DENIED, the streams whose caller is refused now, and only those", async (t) => {
  const sm = new StateMachine();
  const driver: HubDriver = hubDriverOn(sm, { readBarrier: () => Promise.resolve(), report: async () => undefined, meshReport: async () => undefined });
  driver.start();
  t.teardown(() => driver.stop());
  const open = (agentId: string): { call: FakeCall; ended: { code?: number; details?: string }[] } => {
    const call = new FakeCall();
    const ended: { code?: number; details?: string }[] = [];
    call.on('error', (e: { code?: number; details?: string }) => ended.push(e));
    driver.serve(call as unknown as SyncCall);
    const hello = { type: 'hello' as const, agentId, clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] };
    call.emit('data', encodeAgentMessage(hello));
    return { call, ended };
  };
  const revoked = open('c3');
  const kept = open('edge');
  await waitFor(() => [revoked, kept].every((s) => s.call.written.some((w) => w.type === 'CONTROLLER_MESSAGE_WELCOME')), 'both welcomed', 5000);
  t.equal(driver.hub.live(Date.now()).length, 2);
  const n = driver.refuseWhere((call) => (call === (revoked.call as unknown as SyncCall) ? 'NOT_A_MEMBER: removed' : null));
  t.equal(n, 1, 'one stream refused');
  t.equal(revoked.ended.length, 1, 'the refused stream ended');
  t.equal(revoked.ended[0]?.code, 7, 'PERMISSION_DENIED');
  t.equal(revoked.ended[0]?.details, 'NOT_A_MEMBER: removed', 'naming why');
  t.same(kept.ended, [], 'the other stream stays open');
  t.same(driver.hub.live(Date.now()).filter((a) => !a.departing).map((a) => a.id), ['edge'], 'the hub serves the other agent only');
  t.equal(driver.refuseWhere(() => null), 0, 'nothing refused when the judge lets all through');
});

void t.test('an agent that answers pushes it never read (its transport took none) is ended at the next push; one that reads never is', async (t) => {
  // Attack round 13: a stream that never read, NACKing by guessed nonce and kept heard by made-up
  // pongs, had every push kept in the controller's memory (91 MB to 761 MB in 15 s).
  const sm = new StateMachine();
  const driver: HubDriver = hubDriverOn(sm, { readBarrier: () => Promise.resolve(), report: async () => undefined, meshReport: async () => undefined });
  driver.start();
  t.teardown(() => driver.stop());
  const open = (agentId: string, pushParts: boolean, reads: boolean): { call: FakeCall; ended: { code?: number; details?: string }[] } => {
    const call = new FakeCall();
    call.holdWrites = !reads;
    const ended: { code?: number; details?: string }[] = [];
    call.on('error', (e: { code?: number; details?: string }) => ended.push(e));
    driver.serve(call as unknown as SyncCall);
    const hello = { type: 'hello' as const, agentId, clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts, epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] };
    call.emit('data', encodeAgentMessage(hello));
    return { call, ended };
  };
  const agents = [open('reader', false, true), open('unread', false, false), open('unread-parts', true, false)];
  const answered = new Map<FakeCall, number>();
  /** Each agent NACKs the pushes written to it so far (the unread ones by nonce alone, as a guess would). */
  const answer = (): void => {
    for (const { call } of agents) {
      const pushes = call.written.filter((w) => w.type === 'CONTROLLER_MESSAGE_PUSH');
      for (const p of pushes.slice(answered.get(call) ?? 0)) call.emit('data', encodeAgentMessage({ type: 'nack', nonce: p.nonce, version: 0, error: 'no' }));
      answered.set(call, pushes.length);
    }
  };
  for (let i = 1; i <= 6; i++) {
    sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources: [{ kind: 'service', name: `s${i}`, spec: { protocol: 'http', ports: [80] }, labels: {} }] } as KindCommand));
    driver.onApplied();
    const pushed = (c: FakeCall): number => c.written.filter((w) => w.type === 'CONTROLLER_MESSAGE_PUSH').length;
    await waitFor(() => agents.every(({ call, ended }) => ended.length > 0 || pushed(call) >= Math.min(i, 2)), `pushes after change ${i}`, 5000);
    answer();
  }
  const [reader, unread, parts] = agents as [(typeof agents)[0], (typeof agents)[0], (typeof agents)[0]];
  await waitFor(() => unread.ended.length > 0 && parts.ended.length > 0, 'the agents that do not read ended', 5000);
  for (const a of [unread, parts]) {
    t.equal(a.ended[0]?.code, 8, 'RESOURCE_EXHAUSTED');
    t.match(a.ended[0]?.details, /has not read its stream: 2 pushes written to it are still unsent/);
    t.equal(a.call.written.filter((w) => w.type === 'CONTROLLER_MESSAGE_PUSH').length, 2, 'no push written past the two it never took');
  }
  t.same(reader.ended, [], 'the agent that reads is never ended');
  const readerPushes = reader.call.written.filter((w) => w.type === 'CONTROLLER_MESSAGE_PUSH').length;
  t.ok(readerPushes > 2, `and was pushed past two (${readerPushes}), each after its answer`);
});
