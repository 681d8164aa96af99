/**
 * attack-37b B8: a node cut off from a quorum answers the linearizable reads that wait for a
 * leader (member list, kv range, snapshot save, get of mesh resources) at once with its cut-off
 * reason (NO_QUORUM), as puts and gets did; they waited out the deadline and said "no leader
 * elected within 4945ms" (or, for get services, a raw DEADLINE_EXCEEDED from the client).
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { meshOps } from '../../src/api/mesh-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { OperatorClient } from '../../src/api/operator-client.js';
import { operatorServiceDefinition } from '../../src/api/operator-proto.js';
import { operatorService } from '../../src/api/operator-service.js';
import { WatchLimits } from '../../src/api/watch-limits.js';
import type { WatchSource } from '../../src/api/watch-source.js';
import { FakeConsensus } from './fake-consensus.js';

const REASON = 'c2 is cut off from a quorum: c2 has heard from 2 of 5 voters within the election timeout (1000ms), a quorum is 3';
/** Far longer than a cut-off answer takes: waiting it out for a leader would fail the test's own timeout. */
const DEADLINE_MS = 30_000;

/** c2 of five voters, with no leader, whose quorum guard says it is cut off. */
function leaderless(): FakeConsensus {
  return new FakeConsensus('c2', { leader: null, voters: ['c1', 'c2', 'c3', 'c4', 'c5'] });
}

async function operatorServer(t: Test, host: FakeConsensus): Promise<OperatorClient> {
  const watches = { subscribe: () => ({ ok: true, cancel: () => undefined }) } as unknown as WatchSource;
  const server = new grpc.Server();
  server.addService(
    operatorServiceDefinition().service,
    operatorService({
      id: 'c2', clusterName: 'x', clusterId: () => null, version: '0', host, stateMachine: host.sm,
      staleness: () => ({ stale: true, reason: REASON }), duplicate: () => false, dbSizeBytes: () => Promise.resolve(0), watches,
      watchLimits: new WatchLimits(), defaultTimeoutMs: DEADLINE_MS, cutOff: () => REASON,
    }),
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new ControllerClient({ endpoints: [`127.0.0.1:${port}`], timeoutMs: DEADLINE_MS });
  t.teardown(() => {
    client.close();
    server.forceShutdown();
  });
  return new OperatorClient(client);
}

void t.test('member list, range and snapshot save on a cut-off node answer NO_QUORUM with its reason at once', async (t) => {
  t.setTimeout(DEADLINE_MS / 2);
  const operator = await operatorServer(t, leaderless());
  const refusal = { code: 'NO_QUORUM', message: REASON };
  t.match(await operator.memberList().catch((e: unknown) => e), refusal, 'member list');
  t.match(await operator.range('a').catch((e: unknown) => e), refusal, 'range');
  t.match(await operator.snapshot().catch((e: unknown) => e), refusal, 'snapshot save');
  t.match(await operator.memberList({ serializable: true }), { answeredBy: 'c2' }, 'a serializable read is still served');
});

void t.test('a linearizable get of mesh resources on a cut-off node answers NO_QUORUM with its reason at once', async (t) => {
  t.setTimeout(DEADLINE_MS / 2);
  const host = leaderless();
  const onLeader = onLeaderOf({ id: 'c2', host, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding here')) }, cutOff: () => REASON });
  const ops = meshOps({ host, stateMachine: host.sm, onLeader, isMember: () => true, self: 'c2', cutOff: () => REASON });
  const err = await ops.get({ kind: 'service', name: '', serializable: false }, Date.now() + DEADLINE_MS).catch((e: unknown) => e);
  t.match(err, { code: 'NO_QUORUM', message: REASON });
  t.match(await ops.get({ kind: 'service', name: '', serializable: true }, Date.now() + DEADLINE_MS), { revision: 0 }, 'a serializable get is still served');
});
