#!/usr/bin/env node
/**
 * `node dist/chaos/report-table.js REPORT.json...`: the Markdown table of
 * docs/fault-injection.md, one row per report, in the order given.
 */
import fs from 'node:fs';
import type { ChaosReport } from './report.js';

export function tableOf(reports: readonly ChaosReport[]): string {
  const head = [
    '| scenario | nodes | base | seed | s | ops ok / failed / indet. | ops/s | lost writes | linearizable | status accuracy (answers) | convergence p50 / p99 / max ms (changes) | load | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const rows = reports.map((r) => {
    const faultChanges = r.status.changes.filter((c) => c.kind === 'fault').length;
    const c = r.convergenceMs;
    return [
      r.scenario,
      r.nodes,
      `${r.config.baseTimeoutMs / 1000}s`,
      r.seed,
      Math.round(r.durationMs / 1000),
      `${r.ops.ok} / ${r.ops.failed} / ${r.ops.indeterminate}`,
      r.opsPerSec.toFixed(0),
      r.lostWrites,
      r.linearizable ? 'yes' : 'NO',
      `${(r.statusAccuracy * 100).toFixed(2)}% (${r.status.compared})`,
      `${c.p50} / ${c.p99} / ${c.max} (${faultChanges})`,
      `${r.machine.loadBefore.toFixed(1)}-${r.machine.loadAfter.toFixed(1)}`,
      r.verdict.ok ? 'ok' : `FAILED: ${r.verdict.problems.map((p) => p.split('\n')[0]).join('; ')}`,
    ].join(' | ');
  });
  return [...head, ...rows.map((r) => `| ${r} |`)].join('\n');
}

if (process.argv[1]?.endsWith('report-table.js')) {
  const reports = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as ChaosReport);
  process.stdout.write(`${tableOf(reports)}\n`);
}
