/**
 * `node dist/bench/trace-put.js [--build DIST] [--nodes 3] [--puts 200]`
 *
 * Where the time of one put goes: starts a cluster whose controllers trace their steps
 * (CONTROLLER_TRACE, src/util/trace.ts: CLOCK_MONOTONIC timestamps, shared by every process on
 * the machine), sends puts from one client, one every 50 ms so that each runs alone, and
 * prints the steps of the put with the median latency across the processes, in ms from the
 * client's send, with the median offset of each step over every put beside it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { OursCluster } from './ours.js';
import { median, round } from './stats.js';
import { keyOf, VALUE } from './workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const program = new Command()
  .name('trace-put')
  .description('Trace one put across the client, the leader and the followers.')
  .option('--build <dist>', 'the dist directory of the build to trace (default: this tree)', path.resolve(here, '..'))
  .option('--nodes <n>', 'members', '3')
  .option('--puts <n>', 'puts traced', '200')
  .option('--gap <ms>', 'ms between puts (0: back to back)', '50')
  .option('--dump <file>', 'also write every put and every traced event as JSON, for analyses of your own')
  .parse();
const opts = program.opts<{ build: string; nodes: string; puts: string; gap: string; dump?: string }>();

interface Event {
  readonly ns: bigint;
  readonly who: string;
  readonly event: string;
  readonly detail: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-put-'));
process.env['CONTROLLER_TRACE'] = dir;
const cluster = await OursCluster.start(Number(opts.nodes), { controllerJs: path.resolve(opts.build, 'src/cli/controller.js') });
delete process.env['CONTROLLER_TRACE'];
const puts: { send: bigint; answer: bigint }[] = [];
const names = new Map<number, string>();
try {
  const leader = await cluster.leader();
  for (const id of cluster.cluster.ids) names.set(cluster.cluster.pid(id)!, id === leader ? `leader ${id}` : `follower ${id}`);
  const target = await cluster.target();
  const client = target.client();
  for (let i = 0; i < 300; i++) await client.put(keyOf(i), VALUE);
  for (let i = 0; i < Number(opts.puts); i++) {
    // --gap 0: back to back, as bench's put-1 runs (the processes stay awake).
    if (Number(opts.gap) > 0) await sleep(Number(opts.gap));
    const send = process.hrtime.bigint();
    await client.put(keyOf(i), VALUE);
    puts.push({ send, answer: process.hrtime.bigint() });
  }
  client.close();
} finally {
  await cluster.stop();
}

const events: Event[] = [];
for (const f of fs.readdirSync(dir)) {
  const who = names.get(Number(f.replace('.trace', ''))) ?? `pid ${f}`;
  for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
    const m = /^(\d+) (\S+) ?(.*)$/.exec(line);
    if (m) events.push({ ns: BigInt(m[1]!), who, event: m[2]!, detail: m[3]! });
  }
}
events.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
fs.rmSync(dir, { recursive: true, force: true });
if (opts.dump !== undefined) {
  const asText = { puts: puts.map((p) => ({ send: String(p.send), answer: String(p.answer) })), events: events.map((e) => ({ ...e, ns: String(e.ns) })) };
  fs.writeFileSync(opts.dump, JSON.stringify(asText));
}

const ms = (ns: bigint): number => Number(ns) / 1e6;
/** Each put's steps: from its send to the next put's send (the commit reaches followers after the answer). */
const steps = puts.map((p, i) => {
  const end = puts[i + 1]?.send ?? p.answer + 30_000_000n;
  const own = events.filter((e) => e.ns >= p.send && e.ns < end);
  return [
    { at: 0, who: 'client', event: 'put.send', detail: '' },
    ...own.map((e) => ({ at: ms(e.ns - p.send), who: e.who, event: e.event, detail: e.detail })),
    { at: ms(p.answer - p.send), who: 'client', event: 'put.answer', detail: '' },
  ].sort((a, b) => a.at - b.at);
});
const latencies = puts.map((p) => ms(p.answer - p.send));
const byLatency = latencies.map((l, i) => [l, i] as const).sort((a, b) => a[0] - b[0]);
const mid = byLatency[Math.floor(byLatency.length / 2)]![1];
/** The median offset of the k-th occurrence of (who, event) over every put. */
const key = (s: { who: string; event: string }, k: number): string => `${s.who}|${s.event}|${k}`;
const offsets = new Map<string, number[]>();
for (const put of steps) {
  const seen = new Map<string, number>();
  for (const s of put) {
    const k = seen.get(`${s.who}|${s.event}`) ?? 0;
    seen.set(`${s.who}|${s.event}`, k + 1);
    const list = offsets.get(key(s, k)) ?? [];
    list.push(s.at);
    offsets.set(key(s, k), list);
  }
}
process.stdout.write(`put latency over ${puts.length} puts: p50 ${round(median(latencies), 3)} ms; the median put:\n`);
process.stdout.write(`${'ms'.padStart(8)}  ${'median'.padStart(8)}  ${'process'.padEnd(14)}  event\n`);
const seen = new Map<string, number>();
for (const s of steps[mid]!) {
  const k = seen.get(`${s.who}|${s.event}`) ?? 0;
  seen.set(`${s.who}|${s.event}`, k + 1);
  const med = median(offsets.get(key(s, k)) ?? []);
  process.stdout.write(`${s.at.toFixed(3).padStart(8)}  ${med.toFixed(3).padStart(8)}  ${s.who.padEnd(14)}  ${s.event} ${s.detail}\n`);
}
process.exit(0);
