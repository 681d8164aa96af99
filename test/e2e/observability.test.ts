/**
 * What monitoring sees of a real cluster: Prometheus metrics on each node's `metrics` address
 * and the standard gRPC health service.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return res.text();
}

/** The value of one sample line, e.g. `raft_is_leader{node="c1"}`; null when absent. */
function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

/** grpc.health.v1.Health/Check for service "" with hand-encoded bytes; the status number. */
function healthCheck(address: string): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + 5000 },
      (err, res) => {
        client.close();
        if (err || !res) reject(err ?? new Error('no response'));
        else resolve(res.length >= 2 && res[0] === 0x08 ? res[1]! : 0); // field 1 (status), varint
      },
    );
  });
}

const SERVING = 1;

void t.test('metrics and health checks follow the cluster', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', metrics: true });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  for (let i = 0; i < 5; i++) await client.put(`k${i}`, 'v');
  const at = cluster.metricsAddresses.get(leader)!;
  const peer = cluster.ids.find((id) => id !== leader)!;

  // RTT samples need a few heartbeat rounds.
  await waitFor(async () => (sample(await scrape(at), 'membership_heartbeat_rtt_seconds_count', { peer }) ?? 0) > 0, 'RTT samples', 10000);
  const text = await scrape(at);
  t.equal(sample(text, 'raft_is_leader'), 1, 'the leader says it leads');
  t.ok((sample(text, 'raft_term') ?? 0) >= 1, 'with its term');
  t.ok((sample(text, 'raft_commit_index') ?? 0) >= 6, 'the commit index counts the writes');
  t.ok((sample(text, 'raft_applied_index') ?? 0) >= 6, 'and so does the applied index');
  t.ok((sample(text, 'raft_proposals_total', { result: 'committed' }) ?? 0) >= 5, 'committed proposals are counted');
  t.ok((sample(text, 'membership_heartbeat_timeout_seconds', { peer }) ?? 0) >= 1, 'the adaptive timeout per peer (base 1s), in seconds');
  t.equal(sample(text, 'membership_peer_online', { peer }), 1, 'the peer is online');
  t.equal(sample(text, 'membership_view_stale'), 0);
  t.match(text, new RegExp(`node="${leader}"`), 'samples carry the node label');
  t.ok((sample(text, 'nodejs_eventloop_lag_p99_seconds') ?? -1) >= 0, 'the event-loop lag is sampled');
  const follower = await scrape(cluster.metricsAddresses.get(peer)!);
  t.equal(sample(follower, 'raft_is_leader'), 0, 'a follower does not');
  t.equal(sample(follower, 'raft_has_leader'), 1, 'but knows a leader');

  for (const id of cluster.ids) t.equal(await healthCheck(cluster.addresses.get(id)!), SERVING, `${id} is SERVING`);

  // The peer is paused: its status transition is counted once it commits.
  cluster.pause(peer);
  await waitFor(async () => (sample(await scrape(at), 'membership_status_transitions_total', { member: peer, to: 'offline' }) ?? 0) === 1, `${peer} offline to be counted`, 15000);
  t.equal(sample(await scrape(at), 'membership_peer_online', { peer }), 0, 'and shown offline');
  cluster.resume(peer);
});
