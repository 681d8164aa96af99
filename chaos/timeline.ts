/**
 * The run as a picture: one self-contained HTML file (inline SVG, no scripts, no network)
 * with the run's figures on top and five lanes over a shared time axis:
 *
 * 1. faults: a bar per fault, from when it was applied to when it healed;
 * 2. leader: the leader the majority-side nodes reported, 200 ms at a time;
 * 3. status: per node, the truth (green online, red offline, grey undetermined, blank not a
 *    member), with a mark
 *    wherever a majority-side node reported otherwise (amber within the grace window, black
 *    where it counted against the accuracy);
 * 4. status accuracy per second (counted answers only);
 * 5. op latency: every operation at its invocation time, log scale, by result.
 */
import fs from 'node:fs';
import type { OpRecord } from './history.js';
import type { ChaosReport } from './report.js';
import { compareSamples, type Expected, type StatusSample, type World } from './status-analysis.js';
import type { Truth } from './truth.js';

export interface TimelineInput {
  readonly report: ChaosReport;
  readonly worlds: readonly World[];
  readonly samples: readonly StatusSample[];
  readonly records: readonly OpRecord[];
  readonly endMs: number;
  readonly stateOf: (truth: Truth, id: string) => Expected;
}

const WIDTH = 1200;
const LEFT = 110;
const RIGHT = 20;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#d62728', '#637939', '#843c39'];
const FAULT_COLORS: Record<string, string> = {
  jitter: '#bcbd22',
  isolate: '#d62728',
  kill: '#000000',
  pause: '#7f7f7f',
  partition: '#9467bd',
  'cut-out': '#e377c2',
  'cut-in': '#17becf',
  'cut-link': '#ff7f0e',
  'transfer-storm': '#1f77b4',
  'member-replace': '#8c564b',
  slow: '#637939',
};

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderTimeline(input: TimelineInput): string {
  const { report, worlds, samples, records } = input;
  const end = Math.max(1000, input.endMs);
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (ms: number): number => LEFT + (Math.max(0, Math.min(end, ms)) / end) * plotW;
  const nodes = [...new Set([...worlds.flatMap((w) => [...w.truth.online.keys()]), ...samples.flatMap((s) => s.rows.map((r) => r.id))])].sort(
    (a, b) => a.localeCompare(b, 'en', { numeric: true }),
  );
  const color = (id: string): string => PALETTE[nodes.indexOf(id) % PALETTE.length] ?? '#999';
  const parts: string[] = [];
  let y = 10;
  const laneTitle = (title: string, height: number): void => {
    parts.push(`<text x="4" y="${y + 13}" class="lane">${esc(title)}</text>`);
    parts.push(`<rect x="${LEFT}" y="${y}" width="${plotW}" height="${height}" class="frame"/>`);
  };

  // 1. Faults, packed into rows so that overlapping faults do not hide each other.
  const faults = report.faults.filter((f) => f.skipped === undefined);
  const rowEnds: number[] = [];
  const placed = faults.map((f) => {
    let row = rowEnds.findIndex((e) => e <= f.atMs);
    if (row === -1) {
      row = rowEnds.length;
      rowEnds.push(0);
    }
    rowEnds[row] = Math.max(f.healedAtMs, f.atMs + 1);
    return { f, row };
  });
  const faultRowH = 18;
  const faultH = Math.max(1, rowEnds.length) * faultRowH + 4;
  laneTitle('faults', faultH);
  for (const { f, row } of placed) {
    const x0 = x(f.atMs);
    const w = Math.max(2, x(f.healedAtMs) - x0);
    const label = `${f.kind} ${f.target}`;
    parts.push(
      `<g><title>${esc(`${label}: ${(f.atMs / 1000).toFixed(1)}s to ${(f.healedAtMs / 1000).toFixed(1)}s${f.detail ? ` (${f.detail})` : ''}`)}</title>` +
        `<rect x="${x0.toFixed(1)}" y="${y + 2 + row * faultRowH}" width="${w.toFixed(1)}" height="${faultRowH - 3}" fill="${FAULT_COLORS[f.kind] ?? '#555'}" opacity="0.75"/>` +
        `<text x="${(x0 + 3).toFixed(1)}" y="${y + 14 + row * faultRowH}" class="flabel">${esc(label)}</text></g>`,
    );
  }
  y += faultH + 8;

  // 2. Leader, as reported by the majority side, per 200 ms bucket (held over buckets that got
  // no answer, up to a second).
  const bucket = 200;
  const leaderH = 16;
  laneTitle('leader', leaderH);
  const worldAt = (t: number): World | undefined => {
    let found: World | undefined;
    for (const w of worlds) {
      if (w.atMs <= t) found = w;
      else break;
    }
    return found;
  };
  const byBucket = new Map<number, Map<string, number>>();
  for (const s of samples) {
    const w = worldAt(s.sentMs);
    if (w === undefined || !w.truth.majoritySide.has(s.sampler)) continue;
    const b = Math.floor(s.sentMs / bucket);
    const l = s.rows.find((r) => r.leader)?.id ?? '';
    const votes = byBucket.get(b) ?? new Map<string, number>();
    votes.set(l, (votes.get(l) ?? 0) + 1);
    byBucket.set(b, votes);
  }
  const buckets = [...byBucket.keys()].sort((p, q) => p - q);
  buckets.forEach((b, i) => {
    const [leader] = [...byBucket.get(b)!].sort((p, q) => q[1] - p[1])[0]!;
    const next = Math.min(buckets[i + 1] ?? b + 1, b + 5);
    const fill = leader === '' ? '#ffd0d0' : color(leader);
    parts.push(
      `<rect x="${x(b * bucket).toFixed(1)}" y="${y}" width="${Math.max(1, x(next * bucket) - x(b * bucket)).toFixed(1)}" height="${leaderH}" fill="${fill}"><title>${esc(leader === '' ? 'no leader' : `leader ${leader}`)}</title></rect>`,
    );
  });
  y += leaderH + 8;

  // 3. Status per node: the truth, and the answers that disagreed with it.
  const rowH = Math.max(8, Math.min(16, Math.floor(220 / Math.max(1, nodes.length))));
  const statusH = nodes.length * rowH;
  laneTitle('status', statusH);
  nodes.forEach((id, i) => {
    const top = y + i * rowH;
    parts.push(`<text x="${LEFT - 6}" y="${top + rowH - 2}" class="node" text-anchor="end" fill="${color(id)}">${esc(id)}</text>`);
    for (let k = 0; k < worlds.length; k++) {
      const w = worlds[k]!;
      const until = worlds[k + 1]?.atMs ?? end;
      const st = input.stateOf(w.truth, id);
      if (st === 'absent') continue;
      parts.push(
        `<rect x="${x(w.atMs).toFixed(1)}" y="${top + 1}" width="${Math.max(0.5, x(until) - x(w.atMs)).toFixed(1)}" height="${rowH - 2}" fill="${st === 'online' ? '#b7e4b7' : st === 'offline' ? '#f4b6b6' : '#dddddd'}"/>`,
      );
    }
  });
  const comparisons = compareSamples(worlds, samples, report.config.graceMs);
  const marks = new Map<string, { counted: boolean; text: string }>();
  for (const c of comparisons) {
    if (c.reported === c.expected) continue;
    const px = Math.round(x(c.atMs));
    const key = `${c.subject}@${px}`;
    const prev = marks.get(key);
    if (prev === undefined || (c.counted && !prev.counted)) {
      marks.set(key, { counted: c.counted, text: `${(c.atMs / 1000).toFixed(2)}s: ${c.sampler} reported ${c.subject} ${c.reported}, truth ${c.expected}${c.counted ? '' : ' (within grace)'}` });
    }
  }
  for (const [key, m] of marks) {
    const [id, px] = key.split('@') as [string, string];
    const top = y + nodes.indexOf(id) * rowH;
    parts.push(`<rect x="${px}" y="${top + 2}" width="1.5" height="${rowH - 4}" fill="${m.counted ? '#000' : '#e69500'}"><title>${esc(m.text)}</title></rect>`);
  }
  y += statusH + 8;

  // 4. Accuracy per second over the counted answers.
  const accH = 50;
  laneTitle('accuracy /s', accH);
  const perSec = new Map<number, { n: number; ok: number }>();
  for (const c of comparisons) {
    if (!c.counted) continue;
    const s = Math.floor(c.atMs / 1000);
    const a = perSec.get(s) ?? { n: 0, ok: 0 };
    a.n += 1;
    if (c.reported === c.expected) a.ok += 1;
    perSec.set(s, a);
  }
  const accY = (v: number): number => y + accH - Math.max(0, Math.min(1, (v - 0.9) / 0.1)) * (accH - 4) - 2;
  parts.push(`<text x="${LEFT - 6}" y="${accY(1) + 4}" class="axis" text-anchor="end">100%</text><text x="${LEFT - 6}" y="${accY(0.9) + 2}" class="axis" text-anchor="end">≤90%</text>`);
  const pts = [...perSec].sort((p, q) => p[0] - q[0]).map(([s, a]) => ({ s, v: a.ok / a.n, n: a.n }));
  if (pts.length > 0) {
    parts.push(`<polyline fill="none" stroke="#2ca02c" stroke-width="1.5" points="${pts.map((p) => `${x(p.s * 1000 + 500).toFixed(1)},${accY(p.v).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts.filter((q) => q.v < 1)) {
      parts.push(`<circle cx="${x(p.s * 1000 + 500).toFixed(1)}" cy="${accY(p.v).toFixed(1)}" r="2.5" fill="#d62728"><title>${p.s}s: ${(p.v * 100).toFixed(2)}% of ${p.n}</title></circle>`);
    }
  }
  y += accH + 8;

  // 5. Op latency, log scale 1 ms .. 10 s.
  const latH = 140;
  laneTitle('op latency', latH);
  const latY = (ms: number): number => y + latH - 2 - ((Math.log10(Math.max(1, Math.min(10000, ms)))) / 4) * (latH - 4);
  for (const ms of [1, 10, 100, 1000, 10000]) {
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${latY(ms).toFixed(1)}" y2="${latY(ms).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${(latY(ms) + 3).toFixed(1)}" class="axis" text-anchor="end">${ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`}</text>`);
  }
  const okOps = records.filter((r) => r.result === 'ok');
  const stride = Math.max(1, Math.ceil(okOps.length / 15000));
  const dot = (r: OpRecord, fill: string, radius: number): string =>
    `<circle cx="${x(r.invokeMs).toFixed(1)}" cy="${latY(r.returnMs - r.invokeMs).toFixed(1)}" r="${radius}" fill="${fill}"/>`;
  okOps.forEach((r, i) => {
    if (i % stride === 0) parts.push(dot(r, '#1f77b4', 1));
  });
  for (const r of records.filter((q) => q.result !== 'ok')) {
    parts.push(
      `<g><title>${esc(`${r.client} ${r.op.kind} ${r.key}: ${r.result} ${r.error ?? ''} after ${Math.round(r.returnMs - r.invokeMs)}ms`)}</title>${dot(r, r.result === 'failed' ? '#ff7f0e' : '#d62728', 2.5)}</g>`,
    );
  }
  y += latH + 8;

  // Time axis.
  const stepS = end > 120000 ? 10 : end > 40000 ? 5 : end > 15000 ? 2 : 1;
  const ticks: string[] = [];
  for (let s = 0; s * 1000 <= end; s += stepS) {
    ticks.push(`<line x1="${x(s * 1000).toFixed(1)}" x2="${x(s * 1000).toFixed(1)}" y1="10" y2="${y - 8}" class="tick"/>`);
    parts.push(`<text x="${x(s * 1000).toFixed(1)}" y="${y + 6}" class="axis" text-anchor="middle">${s}s</text>`);
  }
  parts.unshift(...ticks);
  y += 14;

  const legendNodes = nodes.map((id) => `<span style="color:${color(id)}">■ ${esc(id)}</span>`).join(' ');
  const legendFaults = Object.entries(FAULT_COLORS)
    .filter(([k]) => faults.some((f) => f.kind === k))
    .map(([k, c]) => `<span style="color:${c}">■ ${esc(k)}</span>`)
    .join(' ');
  const r = report;
  const verdict = r.verdict.ok ? '<b class="ok">OK</b>' : `<b class="bad">FAILED</b><ul>${r.verdict.problems.map((p) => `<li><pre>${esc(p)}</pre></li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chaos ${esc(r.scenario)} seed ${r.seed}</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
.ok { color: #2ca02c; } .bad { color: #d62728; }
pre { margin: 0; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 8px 0; } td { padding: 1px 10px 1px 0; }
</style></head><body>
<h2>chaos: ${esc(r.scenario)} (seed ${r.seed}, ${r.nodes} nodes, ${(r.durationMs / 1000).toFixed(0)} s, base timeout ${r.config.baseTimeoutMs} ms)</h2>
<div>verdict: ${verdict}</div>
<table>
<tr><td>ops</td><td>${r.ops.ok} ok, ${r.ops.failed} failed, ${r.ops.indeterminate} indeterminate (${r.opsPerSec.toFixed(0)}/s; latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms)</td></tr>
<tr><td>linearizable</td><td>${String(r.linearizability.result)} (${r.linearizability.checkedOps} ops checked in ${r.linearizability.ms} ms); lost writes ${r.lostWrites}</td></tr>
<tr><td>status accuracy</td><td>${(r.statusAccuracy * 100).toFixed(3)}% of ${r.status.compared} answers (${r.status.excluded} within the ${r.config.graceMs} ms grace window)</td></tr>
<tr><td>convergence</td><td>p50 ${r.convergenceMs.p50} ms, p99 ${r.convergenceMs.p99} ms, max ${r.convergenceMs.max} ms over ${r.status.changes.length} changes</td></tr>
<tr><td>replay</td><td><code>${esc(r.replay)}</code></td></tr>
</table>
<div>nodes: ${legendNodes} &nbsp; faults: ${legendFaults}</div>
<div>status lane: <span style="background:#b7e4b7">&nbsp;online&nbsp;</span> <span style="background:#f4b6b6">&nbsp;offline&nbsp;</span> <span style="background:#dddddd">&nbsp;undetermined (one-way cut)&nbsp;</span> (the truth);
leader lane: the node's colour, <span style="background:#ffd0d0">&nbsp;no leader&nbsp;</span>;
<span style="color:#e69500">▮</span> a report that differed within the grace window, <b>▮</b> one that counted against the accuracy.
op latency: <span style="color:#1f77b4">●</span> ok <span style="color:#ff7f0e">●</span> failed <span style="color:#d62728">●</span> indeterminate. Hover for details.</div>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}">
<style>
text { font: 11px sans-serif; } .lane { font-weight: 600; } .flabel { fill: #fff; font-size: 10px; }
.axis { fill: #555; font-size: 10px; } .frame { fill: none; stroke: #ccc; } .grid { stroke: #eee; } .tick { stroke: #f0f0f0; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
</body></html>
`;
}

export function writeTimeline(file: string, input: TimelineInput): void {
  fs.writeFileSync(file, renderTimeline(input));
}
