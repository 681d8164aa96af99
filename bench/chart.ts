/**
 * A dependency-free SVG line chart for the scale results: throughput and p99 against the number
 * of clients, one line per system and cluster size. Written into docs/ by `--chart FILE`.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly yLog: boolean;
  readonly series: readonly Series[];
}

const W = 460;
const H = 300;
const M = { left: 64, right: 16, top: 34, bottom: 46 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (v >= 1000) return `${Math.round(v / 100) / 10}k`.replace('.0k', 'k');
  if (v >= 10) return String(Math.round(v));
  return String(Math.round(v * 10) / 10);
}

/** x is log2 (client counts are powers of two); y is linear from 0 or log10. */
function panel(p: Panel, ox: number, oy: number): string {
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => y > 0);
  const x0 = Math.log2(Math.max(1, Math.min(...xs)));
  const x1 = Math.max(x0 + 1, Math.log2(Math.max(...xs)));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => ox + M.left + ((Math.log2(x) - x0) / (x1 - x0)) * pw;
  let sy: (y: number) => number;
  let yTicks: number[];
  if (p.yLog) {
    const lo = Math.floor(Math.log10(Math.max(1e-3, Math.min(...ys))));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...ys))));
    sy = (y) => oy + M.top + ph - ((Math.log10(Math.max(10 ** lo, y)) - lo) / (hi - lo)) * ph;
    yTicks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  } else {
    const top = niceMax(Math.max(...ys));
    sy = (y) => oy + M.top + ph - (y / top) * ph;
    yTicks = Array.from({ length: 6 }, (_, i) => (top * i) / 5);
  }
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="${oy + 20}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  for (const t of yTicks) {
    const y = sy(t);
    out.push(`<line x1="${ox + M.left}" x2="${ox + W - M.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${ox + M.left - 6}" y="${y + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    const X = sx(x);
    out.push(`<line x1="${X}" x2="${X}" y1="${oy + M.top}" y2="${oy + H - M.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${X}" y="${oy + H - M.bottom + 16}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${ox + M.left + pw / 2}" y="${oy + H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(
    `<text transform="translate(${ox + 14},${oy + M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`,
  );
  for (const s of p.series) {
    const pts = s.points.filter(([, y]) => !p.yLog || y > 0);
    if (pts.length === 0) continue;
    const d = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  return out.join('\n');
}

function legend(series: readonly Series[], ox: number, oy: number): string {
  return series
    .map((s, i) => {
      const x = ox + (i % 3) * 150;
      const y = oy + Math.floor(i / 3) * 18;
      return (
        `<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>` +
        `<text x="${x + 34}" y="${y + 4}">${esc(s.name)}</text>`
      );
    })
    .join('\n');
}

export interface ScalePoint {
  readonly system: string;
  readonly nodes: number;
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p99Ms: number;
}

const COLORS: Record<number, string> = { 3: '#1f77b4', 5: '#2ca02c', 7: '#d62728' };

/** Two panels side by side: put throughput and put p99 against clients. */
export function scaleChart(points: readonly ScalePoint[], caption: string): string {
  const keys = [...new Set(points.map((p) => `${p.system}|${p.nodes}`))].sort();
  const mk = (metric: (p: ScalePoint) => number): Series[] =>
    keys.map((k) => {
      const [system, nodes] = k.split('|') as [string, string];
      const ps = points.filter((p) => p.system === system && String(p.nodes) === nodes).sort((a, b) => a.clients - b.clients);
      return {
        name: `${system}, ${nodes} nodes`,
        color: COLORS[Number(nodes)] ?? '#555',
        dashed: system !== 'ours',
        points: ps.map((p) => [p.clients, metric(p)] as const),
      };
    });
  const tput = mk((p) => p.opsPerSec);
  const p99 = mk((p) => p.p99Ms);
  const legendRows = Math.ceil(tput.length / 3);
  const height = H + 30 + legendRows * 18 + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${height}" viewBox="0 0 ${2 * W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel({ title: 'put throughput (ops/s)', xLabel: 'concurrent clients', yLabel: 'ops/s', yLog: false, series: tput }, 0, 0),
    panel({ title: 'put p99 latency (ms, log scale)', xLabel: 'concurrent clients', yLabel: 'ms', yLog: true, series: p99 }, W, 0),
    legend(tput, M.left, H + 14),
    `<text x="${M.left}" y="${height - 8}" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
