/** The summary and the timeline say what happened, from synthetic runs. */
import t from 'tap';
import type { OpRecord } from '../../chaos/history.js';
import { LinkTable } from '../../chaos/link-faults.js';
import { summarize, type ChaosReport } from '../../chaos/report.js';
import { stateOf, type StatusSample, type World } from '../../chaos/status-analysis.js';
import { renderTimeline } from '../../chaos/timeline.js';
import { computeTruth, type NodeCondition } from '../../chaos/truth.js';

function world(atMs: number, down: string[], cause: string): World {
  const conds = new Map<string, NodeCondition>(['c1', 'c2', 'c3'].map((id) => [id, { running: !down.includes(id), member: true, voter: true }]));
  return { atMs, truth: computeTruth(conds, new LinkTable()), cause, kind: cause === 'start' ? 'start' : 'fault' };
}

function report(ok: boolean): ChaosReport {
  const p = { p50: 600, p99: 900, max: 950 };
  return {
    scenario: 'kill-leader',
    seed: 7,
    nodes: 3,
    durationMs: 10000,
    ops: { ok: 100, failed: 2, indeterminate: 1 },
    lostWrites: 0,
    linearizable: ok,
    statusAccuracy: 0.9995,
    convergenceMs: p,
    faults: [{ atMs: 2000, kind: 'kill', target: 'c1', healedAtMs: 6000, detail: 'restarted; up after 800ms' }],
    verdict: { ok, problems: ok ? [] : ['key r0 is not linearizable:\nlongest linearizable prefix: ...'], kinds: ok ? [] : ['safety'] },
    liveness: { boundMs: 20000, boundElectionTimeouts: 20, heals: [{ atMs: 6000, cause: 'restart c1', leaderMs: 40, writeMs: ok ? 120 : null }] },
    replay: 'npm run chaos -- --scenario kill-leader --seed 7 --nodes 3 --duration 10s --base-timeout 500ms',
    config: { baseTimeoutMs: 500, dynamicAdjustment: true, graceMs: 1500, electionTimeoutMs: 1000, raftHeartbeatMs: 100, snapshotThreshold: 2000, clients: 4, registers: 3, minAccuracy: 0.999, maxConvergenceP99Ms: 1500 },
    linearizability: { result: ok, checkedOps: 103, ms: 3, keys: [], anomalies: [] },
    status: { compared: 2000, excluded: 100, mismatchCount: 1, mismatches: [], changes: [], membershipConvergenceMs: { p50: 0, p99: 0, max: 0 }, unconverged: 0, samplerFailures: 0, accuracyByNode: { c1: { compared: 1000, accuracy: 0.999 }, c2: { compared: 1000, accuracy: 1 } }, staleAnswers: 4 },
    lost: [],
    opsPerSec: 10.3,
    latencyMs: { p50: 8, p99: 40, max: 900 },
    recoveryMs: 300,
    unexpectedExits: [],
    proxies: { connections: 12, unidentified: 0, unidentifiedActive: 0, bytesDropped: 0, closedOnHeal: 0 },
    machine: { cpus: 2, cpuModel: 'test', memGB: 8, node: 'v20', platform: 'linux', loadBefore: 0.5, loadAfter: 0.7 },
    timeline: null,
  };
}

void t.test('the summary gives the figures, and on failure the problems and the replay command', async (t) => {
  const good = summarize(report(true));
  t.match(good, /kill-leader seed 7, 3 nodes/);
  t.match(good, /status accuracy: 99\.950%/);
  t.match(good, /liveness: 1 heals; slowest leader 40ms, slowest write 120ms \(bound 20000ms = 20 election timeouts\)/);
  t.match(good, /verdict: OK/);
  t.notMatch(good, /replay/);
  const bad = summarize(report(false));
  t.match(bad, /slowest write missed/);
  t.match(bad, /verdict: FAILED\n\s+- key r0 is not linearizable/);
  t.match(bad, /replay: npm run chaos -- --scenario kill-leader --seed 7/);
});

void t.test('the timeline draws faults, leaders, the truth, wrong answers and op latencies', async (t) => {
  const worlds = [world(0, [], 'start'), world(2000, ['c1'], 'kill c1'), world(6000, [], 'c1 restarted')];
  const samples: StatusSample[] = [];
  for (let at = 0; at < 10000; at += 100) {
    for (const s of ['c2', 'c3']) {
      // c2 notices the kill late (within grace); c3 is wrong once, much later.
      const off = at >= 2000 && at < 6000 && !(s === 'c2' && at < 2600) && !(s === 'c3' && at === 5000);
      samples.push({ sampler: s, sentMs: at, receivedMs: at + 1, stale: false, rows: ['c1', 'c2', 'c3'].map((id) => ({ id, online: id !== 'c1' || !off, leader: id === (at < 2000 ? 'c1' : 'c2') })) });
    }
  }
  const records: OpRecord[] = [
    { client: 'w1', key: 'r0', op: { kind: 'get' }, invokeMs: 100, returnMs: 105, result: 'ok', outcome: { kind: 'read', found: false } },
    { client: 'w2', key: 'r0', op: { kind: 'put', value: 'w2.1' }, invokeMs: 2100, returnMs: 3100, result: 'indeterminate', outcome: { kind: 'unknown' }, error: 'UNREACHABLE' },
  ];
  const html = renderTimeline({ report: report(true), worlds, samples, records, endMs: 10000, stateOf });
  t.match(html, /^<!doctype html>/);
  t.match(html, /<svg [^>]*viewBox/);
  t.match(html, /kill c1/, 'the fault bar is labelled');
  t.match(html, /<title>leader c1<\/title>/);
  t.match(html, /<title>leader c2<\/title>/);
  t.match(html, /fill="#f4b6b6"/, 'the killed node is drawn offline');
  t.match(html, /c2 reported c1 online, truth offline \(within grace\)/, 'late but excused answers are marked amber');
  t.match(html, /5\.00s: c3 reported c1 online, truth offline<\/title>/, 'a counted wrong answer is marked');
  t.match(html, /w2 put r0: indeterminate UNREACHABLE after 1000ms/, 'failed ops are drawn with their error');
  t.notMatch(html, /<script/, 'no scripts: the file is safe to open anywhere');
});
