/**
 * /metrics of running controllers, parsed with a Prometheus text-format parser: every family
 * follows the naming rules (metric-names.ts), and what etcd exposes and dashboards expect is
 * there and moves (docs/grafana.json reads these names).
 */
import t from 'tap';
import type { PrometheusFamily } from 'parse-prometheus-text-format';
import { checkNaming } from '../helpers/metric-names.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return res.text();
}

/** The families docs/grafana.json and docs/reference.md rely on, with their types. */
export const EXPECTED_FAMILIES: Readonly<Record<string, PrometheusFamily['type']>> = {
  raft_disk_fsync_duration_seconds: 'HISTOGRAM',
  raft_apply_duration_seconds: 'HISTOGRAM',
  raft_proposal_duration_seconds: 'HISTOGRAM',
  raft_snapshot_save_duration_seconds: 'HISTOGRAM',
  membership_heartbeat_rtt_seconds: 'HISTOGRAM',
  raft_proposals_committed_total: 'COUNTER',
  raft_proposals_applied_total: 'COUNTER',
  raft_proposals_failed_total: 'COUNTER',
  raft_proposals_pending: 'GAUGE',
  raft_leader_changes_total: 'COUNTER',
  raft_log_compactions_total: 'COUNTER',
  raft_snapshot_size_bytes: 'GAUGE',
  raft_snapshot_index: 'GAUGE',
  raft_log_memory_bytes: 'GAUGE',
  raft_has_leader: 'GAUGE',
  raft_is_leader: 'GAUGE',
  raft_term: 'GAUGE',
  raft_commit_index: 'GAUGE',
  raft_applied_index: 'GAUGE',
  membership_heartbeat_timeout_seconds: 'GAUGE',
  membership_peer_online: 'GAUGE',
  controller_build_info: 'GAUGE',
  controller_connections_open: 'GAUGE',
  controller_connections_pending_handshake: 'GAUGE',
  controller_connections_capped_total: 'COUNTER',
  controller_tls_handshake_failures_total: 'COUNTER',
  process_resident_memory_bytes: 'GAUGE',
  nodejs_eventloop_lag_seconds: 'GAUGE',
};

function value(families: readonly PrometheusFamily[], name: string, suffix: 'value' | 'count' = 'value'): number {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics[0];
  if (m === undefined) return Number.NaN;
  // A histogram's count is its +Inf bucket (the parser keeps the buckets, not _count).
  return Number(suffix === 'count' ? m.buckets?.['+Inf'] : m.value);
}

void t.test('every family on /metrics follows the naming rules, and the etcd-style ones are there and move', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', metrics: true, raft: { snapshotThreshold: 20, trailingLogs: 5 } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  // Past the snapshot threshold, so a snapshot and a compaction happen.
  for (let i = 0; i < 30; i++) await client.put(`k${i}`, `v${i}`);
  const at = cluster.metricsAddresses.get(leader)!;
  await waitFor(async () => value(checkNaming(await scrape(at)).families, 'raft_log_compactions_total') >= 1, 'a snapshot and compaction on the leader', 15000);

  for (const id of cluster.ids) {
    const text = await scrape(cluster.metricsAddresses.get(id)!);
    const { families, problems } = checkNaming(text);
    t.strictSame(problems, [], `${id}: no naming problems in ${families.length} families`);
    const types = new Map(families.map((f) => [f.name, f.type]));
    for (const [name, type] of Object.entries(EXPECTED_FAMILIES)) t.equal(types.get(name), type, `${id}: ${name} is a ${type.toLowerCase()}`);
  }

  const { families } = checkNaming(await scrape(at));
  t.ok(value(families, 'raft_proposals_committed_total') >= 30, 'committed entries are counted');
  t.ok(value(families, 'raft_proposals_applied_total') >= 30, 'so are applied ones');
  t.equal(value(families, 'raft_proposals_pending'), 0, 'nothing is pending once every put has returned');
  t.ok(value(families, 'raft_apply_duration_seconds', 'count') >= 30, 'every apply is timed');
  t.ok(value(families, 'raft_disk_fsync_duration_seconds', 'count') >= 30, 'every synced write is timed');
  t.ok(value(families, 'raft_snapshot_save_duration_seconds', 'count') >= 1, 'the snapshot is timed');
  t.ok(value(families, 'raft_snapshot_size_bytes') > 0, 'and its size recorded');
  t.ok(value(families, 'raft_log_memory_bytes') > 0, 'the log kept in memory is measured');
  t.equal(value(families, 'raft_is_leader'), 1);
  t.equal(value(families, 'raft_has_leader'), 1);
  t.ok(value(families, 'raft_leader_changes_total') >= 1, 'the election that made the leader is counted');

  // The metrics port dialled by mistake: ctl names it as no gRPC port (src/api/not-grpc.ts).
  const misdialled = await cluster.ctl(['kv', 'put', 'x', 'y'], at);
  t.equal(misdialled.code, 3, misdialled.stderr);
  t.match(misdialled.stderr, `ctl: ${at} does not speak gRPC: it answered, but not in HTTP/2 (is it a metrics port?`);
});
