/**
 * The run's report: the contract's JSON fields first (docs/fault-injection.md, "Verdict,
 * report, timeline"), then what a person needs to understand a failure: the verdict's reasons, the
 * checker's per-key results, status mismatches, lost writes, process exits, proxy counters.
 */
import type { Anomaly, KeyResult } from './linearizability.js';
import type { HealLiveness } from './liveness.js';
import type { AgentAnalysis } from './agent-watch.js';
import type { VipAnalysis } from './vip-watch.js';
import type { Mismatch, Percentiles, StatusChange } from './status-analysis.js';

export interface FaultRecord {
  readonly atMs: number;
  readonly kind: string;
  /** A node id, ids joined by ',' for a partition side, 'a->b' for a link, 'all' for jitter. */
  readonly target: string;
  readonly healedAtMs: number;
  /** What happened in detail (a transfer storm's hops, a restart's answer time). */
  readonly detail?: string;
  /** Set when the fault could not be applied (no leader to target, every node busy). */
  readonly skipped?: string;
}

/**
 * safety: not linearizable, or an acknowledged write lost; liveness: no leader or no write
 * within the bound after a heal (or at the start), no operation succeeded at all, a final read
 * that never succeeded; crash: a controller exited on its own; harness: the harness could not
 * do its job; status: accuracy or convergence targets missed, members not all online again
 * after the last heal; operations: a restart, join or membership change that did not complete
 * within the harness's deadline. CI fails on the first four at any load (the kinds whose
 * verdict does not depend on the machine's speed, given generous bounds) and prints the rest.
 */
export type ProblemKind = 'safety' | 'liveness' | 'crash' | 'harness' | 'status' | 'operations';

/** The kinds CI fails on, at any load. */
export const BUILD_FAILING_KINDS: ReadonlySet<ProblemKind> = new Set(['safety', 'liveness', 'crash', 'harness']);

export interface LostWrite {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
  /** What the final read found instead. */
  readonly found: string;
}

export interface ChaosReport {
  // ---- The contract's fields. ----
  readonly scenario: string;
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly ops: { readonly ok: number; readonly failed: number; readonly indeterminate: number };
  readonly lostWrites: number;
  readonly linearizable: boolean;
  readonly statusAccuracy: number;
  readonly convergenceMs: Percentiles;
  readonly faults: readonly FaultRecord[];
  // ---- Additions. ----
  readonly verdict: {
    readonly ok: boolean;
    readonly problems: readonly string[];
    /** What kinds of thing went wrong, one per problem, in the same order. */
    readonly kinds: readonly ProblemKind[];
  };
  /** After every heal: how long until a leader and an acknowledged write (liveness.ts). */
  readonly liveness: {
    readonly boundMs: number;
    readonly boundElectionTimeouts: number;
    readonly heals: readonly HealLiveness[];
  };
  readonly replay: string;
  readonly config: {
    readonly baseTimeoutMs: number;
    readonly dynamicAdjustment: boolean;
    readonly graceMs: number;
    readonly electionTimeoutMs: number;
    readonly raftHeartbeatMs: number;
    readonly snapshotThreshold: number;
    readonly clients: number;
    readonly registers: number;
    readonly minAccuracy: number;
    readonly maxConvergenceP99Ms: number;
  };
  readonly linearizability: {
    readonly result: boolean | 'unknown';
    readonly checkedOps: number;
    readonly ms: number;
    readonly keys: readonly KeyResult[];
    readonly anomalies: readonly Anomaly[];
  };
  readonly status: {
    readonly compared: number;
    readonly excluded: number;
    readonly mismatchCount: number;
    readonly mismatches: readonly Mismatch[];
    readonly changes: readonly StatusChange[];
    /** The contract's convergenceMs covers faults and heals; member add/remove/join apart. */
    readonly membershipConvergenceMs: Percentiles;
    readonly unconverged: number;
    readonly samplerFailures: number;
    /** Each answering node held to the truth on its own (stale answers left out). */
    readonly accuracyByNode: Readonly<Record<string, { readonly compared: number; readonly accuracy: number }>>;
    readonly staleAnswers: number;
  };
  readonly lost: readonly LostWrite[];
  readonly opsPerSec: number;
  readonly latencyMs: Percentiles;
  readonly recoveryMs: number | null;
  /**
   * How long the run waited after the cluster came up for its detectors to settle (settle.ts),
   * and the median heartbeat timeout the nodes reported then and when the run started.
   */
  readonly settle?: {
    readonly waitedMs: number;
    readonly cameUpMedianTimeoutMs: number | null;
    readonly startMedianTimeoutMs: number | null;
    readonly settledTimeoutMs: number;
  };
  readonly unexpectedExits: ReadonlyArray<{ readonly id: string; readonly atMs: number; readonly code: number | null; readonly signal: string | null }>;
  readonly proxies: { readonly connections: number; readonly unidentified: number; readonly unidentifiedActive: number; readonly bytesDropped: number; readonly closedOnHeal: number };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memGB: number;
    readonly node: string;
    readonly platform: string;
    /** 1-minute load average before and after the run: other work on the machine skews timings. */
    readonly loadBefore: number;
    readonly loadAfter: number;
  };
  readonly timeline: string | null;
  /** Scenarios with agents (agent-failover): their status accuracy and convergence, re-sends. */
  readonly agents?: AgentAnalysis & { readonly graceMs: number };
  /** Scenarios with published services (vip-churn): duplicate VIPs, VIP changes, revisions from re-publishes. */
  readonly vips?: VipAnalysis;
}

function livenessLine(r: ChaosReport): string {
  const h = r.liveness.heals;
  if (h.length === 0) return 'no heals';
  const worst = (xs: ReadonlyArray<number | null>): string => (xs.some((x) => x === null) ? 'missed' : `${Math.max(...(xs as number[]))}ms`);
  return `${h.length} heals; slowest leader ${worst(h.map((x) => x.leaderMs))}, slowest write ${worst(h.map((x) => x.writeMs))} (bound ${r.liveness.boundMs}ms = ${r.liveness.boundElectionTimeouts} election timeouts)`;
}

/** A one-screen summary for the terminal. */
export function summarize(r: ChaosReport): string {
  const c = r.convergenceMs;
  const lines = [
    `${r.scenario} seed ${r.seed}, ${r.nodes} nodes, ${(r.durationMs / 1000).toFixed(1)}s, base timeout ${r.config.baseTimeoutMs}ms`,
    `  ops: ${r.ops.ok} ok, ${r.ops.failed} failed, ${r.ops.indeterminate} indeterminate (${r.opsPerSec.toFixed(0)}/s, p50 ${r.latencyMs.p50}ms, p99 ${r.latencyMs.p99}ms)`,
    `  linearizable: ${String(r.linearizability.result)} (${r.linearizability.checkedOps} ops checked in ${r.linearizability.ms}ms); lost writes: ${r.lostWrites}`,
    `  status accuracy: ${(r.statusAccuracy * 100).toFixed(3)}% of ${r.status.compared} answers (${r.status.mismatchCount} wrong, ${r.status.excluded} within grace ${r.config.graceMs}ms, ${r.status.staleAnswers} stale answers left out)`,
    `  per node: ${Object.entries(r.status.accuracyByNode).map(([id, n]) => `${id} ${(n.accuracy * 100).toFixed(2)}%`).join(', ')}`,
    `  convergence: p50 ${c.p50}ms, p99 ${c.p99}ms, max ${c.max}ms over ${r.status.changes.filter((x) => x.kind === 'fault').length} changes (${r.status.unconverged} unconverged)` +
      (r.status.changes.some((x) => x.kind === 'membership') ? `; membership changes: p99 ${r.status.membershipConvergenceMs.p99}ms` : ''),
    ...(r.agents === undefined
      ? []
      : [
          `  agents: ${r.agents.count}; status accuracy ${(r.agents.statusAccuracy * 100).toFixed(3)}% of ${r.agents.compared} rows; convergence p50 ${r.agents.convergenceMs.p50}ms, p99 ${r.agents.convergenceMs.p99}ms over ${r.agents.changes.filter((x) => x.convergedMs !== null).length} stops and starts (${r.agents.unconverged} unconverged, grace ${r.agents.graceMs}ms); ` +
            `${r.agents.falseOffline} shown offline while running; ${r.agents.redundantPushes} re-sends; ${r.agents.configChanges} configuration changes`,
        ]),
    ...(r.vips === undefined
      ? []
      : [
          `  services: ${r.vips.services} seen in ${r.vips.samples} answers; ${r.vips.duplicateVips} duplicate VIPs, ${r.vips.vipChanges} VIP changes of live services, ${r.vips.vipReused} reused within quarantine; ` +
            `${r.vips.republishes} identical re-publishes: ${r.vips.publishWrites} reached the log, ${r.vips.publishRevisions} advanced the revision; ${r.vips.created} created, ${r.vips.deleted} deleted by the operator`,
        ]),
    `  machine: ${r.machine.cpus} cpus, load ${r.machine.loadBefore.toFixed(1)} before, ${r.machine.loadAfter.toFixed(1)} after`,
    ...(r.settle === undefined
      ? []
      : [`  settle: the run started ${(r.settle.waitedMs / 1000).toFixed(1)}s after the cluster came up, median heartbeat timeout ${r.settle.cameUpMedianTimeoutMs ?? '?'}ms then, ${r.settle.startMedianTimeoutMs ?? '?'}ms at the start`]),
    `  liveness: ${livenessLine(r)}`,
    `  faults: ${r.faults.filter((f) => f.skipped === undefined).length} applied, ${r.faults.filter((f) => f.skipped !== undefined).length} skipped; recovery after the last heal: ${r.recoveryMs === null ? 'none' : `${r.recoveryMs}ms`}`,
    r.verdict.ok ? '  verdict: OK' : `  verdict: FAILED\n${r.verdict.problems.map((p) => `    - ${p}`).join('\n')}`,
  ];
  if (!r.verdict.ok) lines.push(`  replay: ${r.replay}`);
  return lines.join('\n');
}
