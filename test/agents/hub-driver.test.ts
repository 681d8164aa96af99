/**
 * The hub's driver with a stream that is an event emitter and reports applied to a real state
 * machine: agent reports and mesh reports (a publish, a /resolve miss) are each exactly-once
 * under a client id of their own, so neither is refused as stale when both are in flight.
 */
import t from 'tap';
import type { HubDriver, SyncCall } from '../../src/agents/hub-driver.js';
import { encodeAgentMessage } from '../../src/agents/wire.js';
import { StateMachine, agentsKind, encodeCommand, meshKind, type ApplyResult, type KindCommand } from '../../src/statemachine/index.js';
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
  const hello = { type: 'hello' as const, agentId: 'edge', clusterId: '', hasConfig: false, version: 0, manifest: [], epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: true, dependencies: [], hosts: ['web'] }, hosts: [{ name: 'web', spec: { protocol: 'http', ports: [80] }, labels: {} }] };
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
