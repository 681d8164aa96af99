/**
 * When a run may start after its cluster came up: once the failure detectors no longer hold
 * the start-up's round trips.
 *
 * A detector's timeout for a peer is base + 2 x the moving average of its last rtt_window ping
 * round trips (16 pings: 8 s at base 2 s). Eleven controllers booting on two cores answer
 * pings 0.4-0.9 s late on average, so when every node first reports every node online the
 * median timeout is 2.8-3.7 s, and it falls to the running cluster's 2.1-2.2 s only as those
 * pings leave the window, over the next 8 s (docs/benchmarks.md, large-cluster convergence).
 * A fault in that window measures the cold start of eleven processes on one small host, not
 * the running cluster whose convergence the scenario is there to judge. So the run starts once
 * the median timeout the nodes report is within half a ping interval of the base, or one
 * window of pings after the cluster came up, whichever comes first. The wait and the median
 * the run started with are in the report.
 */
import { DEFAULTS, defaultHeartbeatIntervalMs } from '../src/config/defaults.js';
import type { StatusSample } from './status-analysis.js';

/** The longest wait: one window of pings (the harness leaves rtt_window and the interval at their defaults). */
export function settleBudgetMs(baseTimeoutMs: number): number {
  return DEFAULTS.rttWindow * defaultHeartbeatIntervalMs(baseTimeoutMs);
}

/** Settled at or below this median timeout: base + half a ping interval (a moving-average RTT of a quarter interval). */
export function settledTimeoutMs(baseTimeoutMs: number): number {
  return baseTimeoutMs + defaultHeartbeatIntervalMs(baseTimeoutMs) / 2;
}

/**
 * The median of the heartbeat timeouts that the latest answer of each of `nodes` reports for
 * its peers (its own row left out); null while some node has not answered with timeouts.
 */
export function medianPeerTimeoutMs(samples: readonly StatusSample[], nodes: readonly string[]): number | null {
  const latest = new Map<string, StatusSample>();
  for (let i = samples.length - 1; i >= 0 && latest.size < nodes.length; i--) {
    const s = samples[i]!;
    if (!latest.has(s.sampler)) latest.set(s.sampler, s);
  }
  const timeouts: number[] = [];
  for (const id of nodes) {
    const s = latest.get(id);
    if (s === undefined) return null;
    for (const r of s.rows) if (r.id !== id && r.timeoutMs !== undefined && r.timeoutMs > 0) timeouts.push(r.timeoutMs);
  }
  if (timeouts.length === 0) return null;
  timeouts.sort((a, b) => a - b);
  return timeouts[Math.floor((timeouts.length - 1) / 2)]!;
}
