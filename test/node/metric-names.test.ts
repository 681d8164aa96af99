/** The naming checker the /metrics tests rely on finds what it is meant to find. */
import t from 'tap';
import { checkNaming } from '../helpers/metric-names.js';

const GOOD = `# HELP raft_apply_duration_seconds Time to apply.
# TYPE raft_apply_duration_seconds histogram
raft_apply_duration_seconds_bucket{le="0.001",node="c1"} 1
raft_apply_duration_seconds_bucket{le="+Inf",node="c1"} 1
raft_apply_duration_seconds_sum{node="c1"} 0.0004
raft_apply_duration_seconds_count{node="c1"} 1
# HELP raft_proposals_failed_total Failed proposals.
# TYPE raft_proposals_failed_total counter
raft_proposals_failed_total{node="c1"} 0
# HELP raft_snapshot_size_bytes Size.
# TYPE raft_snapshot_size_bytes gauge
raft_snapshot_size_bytes{node="c1"} 1024
`;

void t.test('well-named families pass', async (t) => {
  const { families, problems } = checkNaming(GOOD);
  t.strictSame(problems, []);
  t.strictSame(families.map((f) => [f.name, f.type]), [
    ['raft_apply_duration_seconds', 'HISTOGRAM'],
    ['raft_proposals_failed_total', 'COUNTER'],
    ['raft_snapshot_size_bytes', 'GAUGE'],
  ]);
});

void t.test("what prom-client's defaults and the old _ms gauges did is caught", async (t) => {
  const bad = `# HELP nodejs_active_handles_total Handles.
# TYPE nodejs_active_handles_total gauge
nodejs_active_handles_total{node="c1"} 3
# HELP membership_heartbeat_timeout_ms Timeout.
# TYPE membership_heartbeat_timeout_ms gauge
membership_heartbeat_timeout_ms{peer="c2"} 2230
# HELP raft_leader_changes Leader changes.
# TYPE raft_leader_changes counter
raft_leader_changes 2
# HELP raft_snapshot_size Size.
# TYPE raft_snapshot_size gauge
raft_snapshot_size 7
# TYPE raft_no_help gauge
raft_no_help 1
raft_undeclared 1
# HELP raft_half_histogram_seconds Half.
# TYPE raft_half_histogram_seconds histogram
raft_half_histogram_seconds_bucket{le="1"} 0
`;
  const { problems } = checkNaming(bad);
  const said = (family: string, re: RegExp): boolean => problems.some((p) => p.family === family && re.test(p.problem));
  t.ok(said('nodejs_active_handles_total', /gauge whose name ends in _total/));
  t.ok(said('membership_heartbeat_timeout_ms', /"ms" is not a base unit/));
  t.ok(said('membership_heartbeat_timeout_ms', /does not end in _seconds/));
  t.ok(said('raft_leader_changes', /counter whose name does not end in _total/));
  t.ok(said('raft_snapshot_size', /does not end in _bytes/));
  t.ok(said('raft_no_help', /no # HELP line/));
  t.ok(said('raft_undeclared', /without a # TYPE line/));
  t.ok(said('raft_half_histogram_seconds', /without _sum/));
  t.ok(said('raft_half_histogram_seconds', /le="\+Inf"/));
});

void t.test('a labelled histogram with no series yet passes (the GC histogram before the first collection)', async (t) => {
  const text = `${GOOD}# HELP nodejs_gc_duration_seconds Garbage collection duration by kind.
# TYPE nodejs_gc_duration_seconds histogram
`;
  const { problems } = checkNaming(text);
  t.strictSame(problems, []);
});
