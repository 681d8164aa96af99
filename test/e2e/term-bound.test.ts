/**
 * Finding 4 of issue 10 on real processes: a forged heartbeat at term 2^53-2 was saved by every
 * node, and after one more election the cluster was at a term from which no decoder accepts the
 * next (reproduced on the version before: accepted, new leader at term 2^53-1). Now such terms
 * are refused when decoded, and a term far ahead of the receiver's is refused too.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { HelloReply } from '../../src/identity/index.js';
import type { Message } from '../../src/raft/messages.js';
import { askPeers } from '../../src/transport/hello-client.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { refusalOf } from '../../src/transport/refusal-status.js';
import { raftPeerMethod, raftPeerService } from '../../src/transport/wire.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

function step(address: string, request: object): Promise<grpc.ServiceError | null> {
  const client = new (raftPeerService())(address, grpc.credentials.createInsecure());
  const def = raftPeerMethod('Step');
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

void t.test('a term near 2^53, or far ahead of the receiver, is refused, and elections go on', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  await client.put('a', '1');
  // Without TLS anyone can ask who the leader is: the forger presents its exact identity. The
  // leader draws the cluster id in its first heartbeat interval, so it may trail the first write.
  const ask = async (): Promise<HelloReply | null> => {
    const [answer] = await askPeers({ self: 'c0', clusterName: 'e2e', ask: { incarnation: '', clusterId: null, lastIndex: 0, joining: true, nodes: null }, targets: [{ id: leader, address: cluster.addresses.get(leader)! }], credentials: grpc.credentials.createInsecure(), deadlineMs: 3000 });
    return answer !== undefined && 'reply' in answer ? answer.reply : null;
  };
  let reply = null as HelloReply | null;
  await waitFor(async () => Boolean((reply = await ask())?.clusterId), `${leader} to say its cluster id`, 5_000);
  const id = reply!;
  t.ok(id.clusterId, 'the leader says its cluster id and incarnation');
  // The leader's process: at cluster version 0.3 a message without its boot id is refused first.
  const boot = /"boot":"([0-9a-f]{16})"[^\n]*"msg":"controller started"|"msg":"controller started"[^\n]*"boot":"([0-9a-f]{16})"/.exec(cluster.dumpLogs(leader));
  const leaderBoot = boot?.[1] ?? boot?.[2] ?? '';
  t.match(leaderBoot, /^[0-9a-f]{16}$/, 'the leader logs its boot id at start');
  const followers = cluster.ids.filter((x) => x !== leader);
  const startTerm = (await cluster.status(leader))!.term;

  for (const [what, term, code, details] of [
    ['a term near 2^53', 2 ** 53 - 2, grpc.status.INVALID_ARGUMENT, /term: expected a term of at most 2\^52 .*found 9007199254740990/],
    ['a term 2^40 ahead', startTerm + 2 ** 40, grpc.status.PERMISSION_DENIED, /TERM_LEAD: Heartbeat from c\d: term \d+ leads this node's term \d+ by more than 2\^32/],
  ] as const) {
    for (const f of followers) {
      const hb: Message = { type: 'Heartbeat', from: leader, to: f, term, commit: 0, context: '' };
      const err = await step(cluster.addresses.get(f)!, {
        cluster: 'e2e', from: leader, to: f, clusterId: id.clusterId ?? '', incarnation: id.incarnation, boot: leaderBoot, messages: [encodeMessage(hb)],
      });
      t.equal(err?.code, code, `${what} to ${f} is refused`);
      t.match(err?.details, details);
      if (code === grpc.status.PERMISSION_DENIED) t.equal(err && refusalOf(err), 'TERM_LEAD');
    }
  }
  for (const f of followers) t.ok((await cluster.status(f))!.term < 2 ** 32, `${f} kept a term it can move past`);

  // The finding's sequence: the leader dies, twice; each time a new one is elected.
  await cluster.kill(leader);
  const second = await cluster.waitForLeader(followers);
  cluster.start(leader);
  await cluster.waitForLeader(cluster.ids);
  await cluster.kill(second);
  const third = await cluster.waitForLeader(cluster.ids.filter((x) => x !== second));
  t.ok(third !== second, `a third leader (${third}) after two leader deaths`);
  t.equal(Buffer.from((await cluster.explainFailure(client.get('a'))).value).toString(), '1');
});
