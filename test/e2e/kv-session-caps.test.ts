/**
 * Attack round 15: KvSessions held open after one request each. Before, nothing but the 60,000
 * connections bounded them: 10,000 on 10 connections from one operator certificate took a
 * follower from 90 MB to 330 MB, for good. Now one client (in plaintext, one connection) may hold
 * MAX_KV_SESSIONS_PER_CLIENT, a session past them is refused RESOURCE_EXHAUSTED at its start, and
 * other clients are served.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { controllerMethod } from '../../src/api/controller-proto.js';
import { MAX_KV_SESSIONS_PER_CLIENT } from '../../src/api/kv-session-limits.js';
import type { KvSessionRequestMsg, KvSessionResponseMsg } from '../../src/api/wire-types.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('one client past its KvSessions is refused RESOURCE_EXHAUSTED; another is served', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  // One channel: every session on one connection, one client in plaintext.
  const client = new grpc.Client(cluster.addresses.get('c1')!, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const method = controllerMethod('KvSession') as unknown as grpc.MethodDefinition<KvSessionRequestMsg, KvSessionResponseMsg>;
  const get: KvSessionRequestMsg = { id: 1, op: 'KV_OP_GET', timeoutMs: 5000, key: 'nope', value: Buffer.alloc(0), hasIfRevision: false, ifRevision: 0, serializable: true, clientId: '', clientSeq: 0, forwarded: false };
  let answered = 0;
  const refusals: grpc.ServiceError[] = [];
  const calls: grpc.ClientDuplexStream<KvSessionRequestMsg, KvSessionResponseMsg>[] = [];
  t.teardown(() => calls.forEach((c) => c.cancel()));
  const sessions = MAX_KV_SESSIONS_PER_CLIENT + 4;
  for (let i = 0; i < sessions; i++) {
    const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    call.on('data', () => answered++);
    call.on('error', (err: grpc.ServiceError) => refusals.push(err));
    call.write(get);
    calls.push(call);
  }
  await waitFor(() => answered + refusals.length >= sessions, `every session answered or refused (${answered} answered, ${refusals.length} refused)`, 30000);
  t.equal(answered, MAX_KV_SESSIONS_PER_CLIENT, `${MAX_KV_SESSIONS_PER_CLIENT} sessions served`);
  t.equal(refusals.length, 4, 'the 4 past them refused');
  t.ok(refusals.every((e) => e.code === grpc.status.RESOURCE_EXHAUSTED && /the most one client may/.test(e.details)), `RESOURCE_EXHAUSTED naming the cap: ${refusals[0]?.details}`);
  const put = await cluster.ctl(['kv', 'put', 'k', 'v'], cluster.endpoints(), 20000);
  t.equal(put.code, 0, `another client is served: ${put.stderr}`);
});
