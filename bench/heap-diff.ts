/**
 * `node dist/bench/heap-diff.js A.heapsnapshot B.heapsnapshot [--per N] [--top 30] [--retainers NAME | --maps]`
 *
 * What grew from heap snapshot A to B, by node type and constructor (self sizes, and counts),
 * divided by N (the agents added between them). With --retainers NAME, B's objects of that
 * constructor grouped by the edge and constructor that retain them (first retainer only); with
 * --maps, B's largest Map and Set tables and what holds them.
 */
import fs from 'node:fs';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]]; readonly edge_fields: string[]; readonly edge_types: [string[]] } };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

function load(file: string): Snapshot {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
}

function key(s: Snapshot, i: number, nf: number): string {
  const types = s.snapshot.meta.node_types[0];
  const type = types[s.nodes[i * nf]!]!;
  const name = s.strings[s.nodes[i * nf + 1]!]!;
  if (type === 'object' || type === 'native' || type === 'closure' || type === 'hidden' || type === 'array' || type === 'code') return `${type}:${name.slice(0, 60)}`;
  return type;
}

function byKey(s: Snapshot): Map<string, { size: number; count: number }> {
  const nf = s.snapshot.meta.node_fields.length;
  const sizeAt = s.snapshot.meta.node_fields.indexOf('self_size');
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i * nf < s.nodes.length; i++) {
    const k = key(s, i, nf);
    const e = out.get(k) ?? { size: 0, count: 0 };
    e.size += s.nodes[i * nf + sizeAt]!;
    e.count++;
    out.set(k, e);
  }
  return out;
}

/**
 * Every strong edge of `s`, in order: from node index `from`, its name (an element's or hidden
 * edge's index in brackets; `indexed` then names its type), to node index `to`.
 */
function forEachStrongEdge(s: Snapshot, visit: (from: number, edgeName: string, to: number, indexed: string | null) => void): void {
  const nf = s.snapshot.meta.node_fields.length;
  const ef = s.snapshot.meta.edge_fields.length;
  const edgeCountAt = s.snapshot.meta.node_fields.indexOf('edge_count');
  const edgeTypes = s.snapshot.meta.edge_types[0];
  let e = 0;
  for (let i = 0; i * nf < s.nodes.length; i++) {
    const count = s.nodes[i * nf + edgeCountAt]!;
    for (let j = 0; j < count; j++, e += ef) {
      const type = edgeTypes[s.edges[e]!]!;
      if (type === 'weak') continue;
      const nameOrIndex = s.edges[e + 1]!;
      const indexed = type === 'element' || type === 'hidden' ? type : null;
      visit(i, indexed !== null ? `[${nameOrIndex}]` : s.strings[nameOrIndex]!, s.edges[e + 2]! / nf, indexed);
    }
  }
}

function retainers(s: Snapshot, name: string, per: number, top: number): void {
  const nf = s.snapshot.meta.node_fields.length;
  const sizeAt = s.snapshot.meta.node_fields.indexOf('self_size');
  const firstRetainer = new Map<number, string>();
  // Grouped by the edge's name, so an element's by its type rather than its index.
  forEachStrongEdge(s, (from, edgeName, to, indexed) => {
    if (!firstRetainer.has(to)) firstRetainer.set(to, `${key(s, from, nf)} .${indexed !== null ? `[${indexed}]` : edgeName}`);
  });
  const groups = new Map<string, { size: number; count: number }>();
  for (let i = 0; i * nf < s.nodes.length; i++) {
    if (key(s, i, nf) !== name) continue;
    const r = firstRetainer.get(i) ?? '(none)';
    const g = groups.get(r) ?? { size: 0, count: 0 };
    g.size += s.nodes[i * nf + sizeAt]!;
    g.count++;
    groups.set(r, g);
  }
  console.log(`retainers of ${name} in B (bytes and count per ${per}):`);
  for (const [r, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`  ${(g.size / per).toFixed(1).padStart(9)} B ${(g.count / per).toFixed(2).padStart(7)}  ${r}`);
}

const [fileA, fileB] = process.argv.slice(2);
const per = Number(arg('--per') ?? 1);
const top = Number(arg('--top') ?? 30);
const b = load(fileB!);
const retain = arg('--retainers');
if (process.argv.includes('--maps')) {
  maps(b, top);
} else if (retain !== undefined) {
  retainers(b, retain, per, top);
} else {
  const ka = byKey(load(fileA!));
  const kb = byKey(b);
  const rows = [...new Set([...ka.keys(), ...kb.keys()])].map((k) => ({ k, size: (kb.get(k)?.size ?? 0) - (ka.get(k)?.size ?? 0), count: (kb.get(k)?.count ?? 0) - (ka.get(k)?.count ?? 0) }));
  const total = rows.reduce((acc, r) => acc + r.size, 0);
  console.log(`total self size growth ${(total / per).toFixed(1)} B per unit`);
  for (const r of rows.sort((x, y) => y.size - x.size).slice(0, top)) console.log(`${(r.size / per).toFixed(1).padStart(9)} B ${(r.count / per).toFixed(2).padStart(7)}  ${r.k}`);
}

/** With --maps: B's largest Maps and Sets by their table, with the path (3 retainers) that holds each. */
function maps(s: Snapshot, top: number): void {
  const nf = s.snapshot.meta.node_fields.length;
  const sizeAt = s.snapshot.meta.node_fields.indexOf('self_size');
  const retainer = new Map<number, [number, string]>();
  const tableSize = new Map<number, number>();
  forEachStrongEdge(s, (from, edgeName, to) => {
    if (edgeName === 'table') tableSize.set(from, s.nodes[to * nf + sizeAt]!);
    if (!retainer.has(to)) retainer.set(to, [from, edgeName]);
  });
  const rows = [...tableSize].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [i, size] of rows) {
    const path: string[] = [];
    let at = i;
    for (let d = 0; d < 4; d++) {
      const r = retainer.get(at);
      if (r === undefined) break;
      path.push(`${key(s, r[0], nf)}.${r[1]}`);
      at = r[0];
    }
    console.log(`${String(size).padStart(9)} B  ${key(s, i, nf)} <- ${path.join(' <- ')}`);
  }
}
