/**
 * `npm run bench -- [--quick] [--vs etcd] [--json FILE]`
 *
 * Puts and linearizable gets (1 and 64 clients), leader failover and memory for ours and, with
 * `--vs etcd`, etcd 3.4 in the same run; status convergence after a pause (ours alone); the
 * machine's physical floor; and throughput and p99 as nodes (3, 5, 7) and clients (1-256) grow.
 *
 * Fairness: each load measurement runs on a freshly started cluster with nothing else of the
 * benchmark running, and the two systems alternate (ours then etcd, then etcd then ours, ...) so
 * that noise from other jobs on the machine hits both alike. Failovers alternate kill by kill.
 * How much CPU other processes used during each measurement is reported beside it.
 *
 * --quick takes about two minutes; the full run about nine minutes (75 s of it an idle cluster at rest).
 */
import fs from 'node:fs';
import os from 'node:os';
import { Command, Option } from 'commander';
import type hdr from 'hdr-histogram-js';
import { scaleChart } from './chart.js';
import { etcdWatchers, oursAgents, type AgentFailoverResult, type FanoutResult } from './agents.js';
import { oursLazy } from './lazy.js';
import { EtcdCluster, ensureEtcd, etcdVersion } from './etcd.js';
import { machineInfo, measureFsync, type MachineInfo } from './machine.js';
import { OURS_BASE_TIMEOUT, OursCluster, type ConvergenceSample } from './ours.js';
import { CpuMeter, load } from './proc.js';
import {
  agentsText,
  convergenceText,
  floorText,
  lazyText,
  machineText,
  ratiosText,
  resultsTable,
  scaleText,
  type ResultRow,
  type RowExtra,
  type ScaleRow,
  type Workload,
} from './report.js';
import { histogram, median, percentileMs, round, samplePercentile } from './stats.js';
import { isWatchClient, type WatchClient } from './etcd-watchers.js';
import type { BenchCluster, SystemDriver, SystemName } from './system.js';
import { preload, runLoad, type LoadResult, type Op } from './workloads.js';

const PARTS = ['put-1', 'put-64', 'get-64', 'failover', 'convergence', 'scale', 'agents', 'lazy'] as const;
type Part = (typeof PARTS)[number];

const list = (v: string): number[] => v.split(',').map((x) => Number(x.trim()));

const program = new Command()
  .name('bench')
  .description('Benchmark our controller cluster on loopback, optionally side by side with etcd 3.4.')
  .option('--quick', 'short runs, about two minutes in all', false)
  .addOption(new Option('--vs <system>', 'also benchmark this system in the same run').choices(['etcd']))
  .option('--json <file>', "write the contract's JSON: { machine, results: [...] }")
  .option('--details <file>', 'write everything measured (rounds, CPU, scale, convergence) as JSON')
  .option('--chart <file>', 'draw the scale results as an SVG chart into this file')
  .option('--etcd <path>', 'the etcd binary (default: /usr/bin/etcd, installed with apt-get if missing)')
  .addOption(new Option('--etcd-api <api>', "how the load talks to etcd: its JSON gateway (the issue's method) or gRPC").choices(['json', 'grpc']).default('json'))
  .option('--only <parts>', `run only these parts: ${PARTS.join(',')}`)
  .option('--rounds <n>', 'measurements per load workload and system (default 1, full 3)')
  .option('--duration <s>', 'seconds per load measurement (default 3, full 5)')
  .option('--warmup <s>', 'seconds of the same load, not recorded, before each load measurement (default 3, full 5)')
  .option('--failovers <n>', 'leader kills per system (default 2, full 7)')
  .option('--idle-settle <s>', 'seconds a fresh cluster rests before its idle CPU is read again, at rest (default 0: not read; full 75)')
  .option('--scale-nodes <list>', 'cluster sizes for the scale sweep (default 3, full 3,5,7)')
  .option('--scale-clients <list>', 'client counts for the scale sweep (default 1,16,64,256, full 1,4,16,64,256)')
  .option('--agents <n>', 'agents (etcd: watchers) in the agent fan-out (default 1000)')
  .option('--changes <n>', 'changes timed in the agent fan-out (default 20, full 50)')
  .option('--warmup-changes <n>', 'changes made before the timed ones, untimed, in the agent fan-out, so both systems are measured in steady state (default 200)')
  .option('--agent-threads <n>', 'worker threads the agents (watchers) run on, the same for both systems (default 1)')
  .option('--watch-client <client>', "the gRPC client etcd's watchers use: grpc-js (what a Node.js etcd client is built on) or h2 (the small client our agents use)", 'grpc-js')
  .option('--node-args <args>', "node options for our controllers, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile them", '')
  .parse();

interface Opts {
  quick: boolean;
  vs?: 'etcd';
  json?: string;
  details?: string;
  chart?: string;
  etcd?: string;
  etcdApi: 'json' | 'grpc';
  only?: string;
  rounds?: string;
  duration?: string;
  warmup?: string;
  failovers?: string;
  idleSettle?: string;
  scaleNodes?: string;
  scaleClients?: string;
  agents?: string;
  changes?: string;
  agentThreads?: string;
  warmupChanges?: string;
  watchClient: string;
  nodeArgs: string;
}
const opts = program.opts<Opts>();
const quick = opts.quick;
// A mistyped number would otherwise measure nothing (NaN rounds) or skip a part without a word.
for (const [name, v, least] of [
  ['--rounds', opts.rounds, 1],
  ['--duration', opts.duration, 1],
  ['--warmup', opts.warmup, 0],
  ['--failovers', opts.failovers, 1],
  ['--idle-settle', opts.idleSettle, 0],
  ['--agents', opts.agents, 1],
  ['--changes', opts.changes, 1],
  ['--warmup-changes', opts.warmupChanges, 0],
  ['--agent-threads', opts.agentThreads, 1],
] as const) {
  if (v !== undefined && !(/^[0-9]+$/.test(v) && Number(v) >= least)) program.error(`${name}: expected a whole number of at least ${least}, found ${JSON.stringify(v)}`);
}
for (const [name, v] of [['--scale-nodes', opts.scaleNodes], ['--scale-clients', opts.scaleClients]] as const) {
  if (v !== undefined && !v.split(',').every((x) => /^[1-9][0-9]*$/.test(x.trim()))) program.error(`${name}: expected positive whole numbers separated by commas, found ${JSON.stringify(v)}`);
}
const watchClient: WatchClient = isWatchClient(opts.watchClient) ? opts.watchClient : program.error(`--watch-client: expected grpc-js or h2, found ${JSON.stringify(opts.watchClient)}`);
const nodeArgs = opts.nodeArgs.split(' ').filter((a) => a !== '');
const startOurs = (nodes: number): Promise<OursCluster> => OursCluster.start(nodes, { nodeArgs });
const cfg = {
  rounds: Number(opts.rounds ?? (quick ? 1 : 3)),
  durationMs: Number(opts.duration ?? (quick ? 3 : 5)) * 1000,
  // Both systems get the same unrecorded load first, so the rows compare steady states (as the
  // scale sweep's cells do; it measures a fresh cluster's start-up on its own). A fresh member
  // of ours compiles its write path in its first seconds under load: after 1 s of warm-up,
  // put-64's next 2 s had a p50 of 35-47 ms and a p99 of 139-161 ms, the seconds after 17-19
  // and 39-44 ms; etcd's were alike in both (p99 76-78, then 69-73 ms).
  warmupMs: Number(opts.warmup ?? (quick ? 3 : 5)) * 1000,
  failovers: Number(opts.failovers ?? (quick ? 2 : 7)),
  // The idle reading 2 s after a start is a member's start-up tail as much as its idle cost: V8
  // still optimizes a few functions a second 30-60 s after a start (docs/benchmarks.md,
  // "Forty-third session"). A second reading after this rest is what an idle member costs.
  idleSettleMs: Number(opts.idleSettle ?? (quick ? 0 : 75)) * 1000,
  convergence: quick ? 1 : 3,
  scaleNodes: opts.scaleNodes ? list(opts.scaleNodes) : quick ? [3] : [3, 5, 7],
  scaleClients: opts.scaleClients ? list(opts.scaleClients) : quick ? [1, 16, 64, 256] : [1, 4, 16, 64, 256],
  scaleDurationMs: quick ? 1500 : 3000,
  scaleWarmupMs: quick ? 500 : 1000,
  // A fresh cluster's first seconds are its start-up, measured on their own; then the same
  // untimed load for both systems (many clients, then one) before the cells.
  scaleStartMs: quick ? 1500 : 3000,
  scaleSettleMs: quick ? 1500 : 3000,
  agents: Number(opts.agents ?? 1000),
  changes: Number(opts.changes ?? (quick ? 20 : 50)),
  agentThreads: Number(opts.agentThreads ?? 1),
  warmupChanges: Number(opts.warmupChanges ?? 200),
};
const parts = new Set<Part>((opts.only?.split(',') ?? PARTS).map((p) => p.trim() as Part));
for (const p of parts) {
  if (!PARTS.includes(p)) program.error(`--only: unknown part ${JSON.stringify(p)}; expected some of ${PARTS.join(',')}`);
}

const started = performance.now();
function log(s: string): void {
  const t = Math.round((performance.now() - started) / 1000);
  process.stderr.write(`bench [${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}] ${s}\n`);
}

/** Every cluster running now, so an interrupt or a failure stops them all (by their PIDs). */
const live = new Set<BenchCluster>();

async function withCluster<T>(driver: SystemDriver, nodes: number, f: (c: BenchCluster) => Promise<T>): Promise<T> {
  const c = await driver.start(nodes);
  live.add(c);
  try {
    return await f(c);
  } finally {
    live.delete(c);
    await c.stop();
  }
}

async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((c) => c.stop()));
  live.clear();
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the clusters`);
    void stopAll().finally(() => process.exit(130));
  });
}

/** Alternate which system goes first, so neither always runs after the other. */
function ordered<T>(xs: readonly T[], k: number): T[] {
  return k % 2 === 0 ? [...xs] : [...xs].reverse();
}

interface Acc {
  ops: number;
  durationMs: number;
  errors: number;
  firstError: string | null;
  serverMs: number;
  clientMs: number;
  foreignMs: number;
  wallMs: number;
  rounds: number[];
  rss: number[];
  hist: hdr.Histogram;
}

function accumulate(acc: Acc | undefined, r: LoadResult, durationMs: number, rss: number[]): Acc {
  const a = acc ?? { ops: 0, durationMs: 0, errors: 0, firstError: null, serverMs: 0, clientMs: 0, foreignMs: 0, wallMs: 0, rounds: [], rss: [], hist: histogram() };
  a.ops += r.ops;
  a.durationMs += durationMs;
  a.errors += r.errors;
  a.firstError ??= r.firstError;
  a.serverMs += r.cpu.serverMs;
  a.clientMs += r.cpu.clientMs;
  a.foreignMs += r.cpu.foreignMs;
  a.wallMs += r.cpu.wallMs;
  a.rounds.push(r.opsPerSec);
  a.rss = rss;
  a.hist.add(r.histogram);
  return a;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

function loadSummary(r: LoadResult, rss: number[]): string {
  // Each operation took longer than the warm-up and the window: no latency to report.
  const latency = r.ops === 0 ? 'none answered within the window' : `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, server CPU ${r.serverCpuMsPerOp} ms/op`;
  return (
    `${r.opsPerSec} ops/s, ${latency}, ` +
    `rss ${Math.round(mean(rss))} MB/node, other CPU ${Math.round((100 * r.cpu.foreignMs) / r.cpu.wallMs)}%` +
    (r.errors > 0 ? `, ${r.errors} errors (first: ${r.firstError})` : '')
  );
}

async function main(): Promise<void> {
  const drivers: SystemDriver[] = [{ name: 'ours', start: startOurs }];
  let etcdBin: string | null = null;
  if (opts.vs === 'etcd') {
    etcdBin = opts.etcd ?? ensureEtcd(log);
    const bin = etcdBin;
    drivers.push({ name: 'etcd', start: (n) => EtcdCluster.start(bin, n, opts.etcdApi) });
  }
  const who = drivers.map((d) => (d.name === 'etcd' ? `etcd (${opts.etcdApi === 'grpc' ? 'gRPC' : 'JSON gateway'})` : d.name)).join(' and ');
  log(`${quick ? 'quick' : 'full'} run of ${[...parts].join(', ')} for ${who}; ${quick ? 'about two minutes' : 'about nine minutes'}`);
  log('measuring the floor: fsync in the data dirs\' filesystem, loopback RTT, grpc-js unary RTT...');
  let machine: MachineInfo = await machineInfo(os.tmpdir(), etcdBin ? etcdVersion(etcdBin) : null, quick);
  log(machineText(machine).split('\n').slice(-1)[0]!);

  const results: ResultRow[] = [];
  const extra = new Map<string, RowExtra>();
  const loads: Array<{ name: Workload & Part; op: Op; clients: number }> = [
    { name: 'put-1', op: 'put', clients: 1 },
    { name: 'put-64', op: 'put', clients: 64 },
    { name: 'get-64', op: 'get', clients: 64 },
  ];
  const accs = new Map<string, Acc>();
  for (let round_ = 0; round_ < cfg.rounds; round_++) {
    for (const [wi, w] of loads.entries()) {
      if (!parts.has(w.name)) continue;
      for (const d of ordered(drivers, round_ + wi)) {
        const tag = `${d.name} ${w.name} (round ${round_ + 1}/${cfg.rounds})`;
        log(`${tag}: starting 3 members, ${w.clients} client(s), ${cfg.warmupMs / 1000}s warm-up + ${cfg.durationMs / 1000}s...`);
        await withCluster(d, 3, async (c) => {
          const target = await c.target();
          if (w.op === 'get') await preload(target);
          const r = await runLoad(target, w.op, w.clients, cfg.warmupMs, cfg.durationMs);
          const rss = c.rssMB();
          accs.set(`${d.name}|${w.name}`, accumulate(accs.get(`${d.name}|${w.name}`), r, cfg.durationMs, rss));
          log(`${tag}: ${loadSummary(r, rss)}`);
        });
      }
    }
  }
  for (const w of loads) {
    for (const d of drivers) {
      const a = accs.get(`${d.name}|${w.name}`);
      if (!a) continue;
      results.push({
        system: d.name,
        workload: w.name,
        opsPerSec: Math.round((a.ops / a.durationMs) * 1000),
        p50Ms: round(percentileMs(a.hist, 50), 3),
        p99Ms: round(percentileMs(a.hist, 99), 3),
        failoverMs: 0,
        rssMB: Math.round(mean(a.rss)),
      });
      extra.set(`${d.name}|${w.name}`, {
        serverCpuMsPerOp: a.ops > 0 ? round(a.serverMs / a.ops, 3) : 0,
        clientCpuMsPerOp: a.ops > 0 ? round(a.clientMs / a.ops, 3) : 0,
        errors: a.errors,
        foreignCpuPct: a.wallMs > 0 ? (100 * a.foreignMs) / a.wallMs : 0,
        roundOpsPerSec: a.rounds,
        samplesMs: [],
        rssPerNodeMB: a.rss.map((x) => Math.round(x)),
      });
    }
  }

  if (parts.has('failover')) {
    log(`failover: ${cfg.failovers} kill -9 of the leader per system, alternating; each killed member restarts and catches up before the next`);
    const clusters: BenchCluster[] = [];
    try {
      for (const d of drivers) {
        const c = await d.start(3);
        live.add(c);
        clusters.push(c);
      }
      // What an idle member costs (heartbeats, health pings, timers), both systems at once.
      const idleMs = quick ? 3000 : 5000;
      const readIdle = async (): Promise<Map<SystemName, number>> => {
        const meters = clusters.map((c) => new CpuMeter(c.pids()));
        await new Promise((r) => setTimeout(r, idleMs));
        return new Map(clusters.map((c, i) => [c.system, (100 * meters[i]!.stop().serverMs) / idleMs / c.size]));
      };
      const idleText = (m: Map<SystemName, number>): string => clusters.map((c) => `${c.system} ${round(m.get(c.system)!, 1)}% of a core`).join(', ');
      await new Promise((r) => setTimeout(r, 2000));
      const idle = await readIdle();
      log(`idle CPU per member, just started: ${idleText(idle)}`);
      let idleAtRest: Map<SystemName, number> | null = null;
      if (cfg.idleSettleMs > 0) {
        log(`resting ${cfg.idleSettleMs / 1000} s before reading idle CPU again (--idle-settle)`);
        await new Promise((r) => setTimeout(r, cfg.idleSettleMs));
        idleAtRest = await readIdle();
        log(`idle CPU per member, at rest: ${idleText(idleAtRest)}`);
      }
      const samples = new Map<SystemName, number[]>(drivers.map((d) => [d.name, []]));
      for (let i = 0; i < cfg.failovers; i++) {
        for (const c of ordered(clusters, i)) {
          const s = await c.failover();
          samples.get(c.system)!.push(s.ms);
          log(`${c.system} failover ${i + 1}/${cfg.failovers}: ${Math.round(s.ms)} ms (leader ${s.oldLeader} killed, ${s.newLeader} took over)`);
        }
      }
      for (const c of clusters) {
        const ms = samples.get(c.system)!;
        const rss = c.rssMB();
        const med = Math.round(median(ms));
        results.push({ system: c.system, workload: 'failover', opsPerSec: 0, p50Ms: med, p99Ms: Math.round(samplePercentile(ms, 99)), failoverMs: med, rssMB: Math.round(mean(rss)) });
        extra.set(`${c.system}|failover`, {
          serverCpuMsPerOp: 0,
          clientCpuMsPerOp: 0,
          errors: 0,
          foreignCpuPct: 0,
          roundOpsPerSec: [],
          samplesMs: ms.map((x) => Math.round(x)),
          rssPerNodeMB: rss.map((x) => Math.round(x)),
          idleCpuPctPerMember: round(idle.get(c.system)!, 1),
          ...(idleAtRest !== null ? { idleAtRestCpuPctPerMember: round(idleAtRest.get(c.system)!, 1) } : {}),
        });
        log(`${c.system} failover samples (ms): ${ms.map((x) => Math.round(x)).join(', ')}; median ${med}`);
      }
    } finally {
      for (const c of clusters) live.delete(c);
      await Promise.allSettled(clusters.map((c) => c.stop()));
    }
  }

  const convergence: ConvergenceSample[] = [];
  if (parts.has('convergence')) {
    log(`status convergence (ours): SIGSTOP of a follower, ${cfg.convergence} time(s), base_timeout ${OURS_BASE_TIMEOUT}...`);
    await startOurs(3).then(async (c) => {
      live.add(c);
      try {
        for (let i = 0; i < cfg.convergence; i++) {
          const s = await c.statusConvergence();
          convergence.push(s);
          log(`convergence ${i + 1}/${cfg.convergence}: offline on all others after ${Math.round(s.offlineMs)} ms, committed offline after ${Math.round(s.clusterOfflineMs)} ms, online again ${Math.round(s.onlineMs)} ms after SIGCONT`);
        }
      } finally {
        live.delete(c);
        await c.stop();
      }
    });
  }

  const scale: ScaleRow[] = [];
  if (parts.has('scale')) {
    for (const [ni, nodes] of cfg.scaleNodes.entries()) {
      for (const d of ordered(drivers, ni)) {
        log(`scale: ${d.name} with ${nodes} members, puts from ${cfg.scaleClients.join(', ')} clients, ${cfg.scaleDurationMs / 1000}s each...`);
        await withCluster(d, nodes, async (c) => {
          const target = await c.target();
          // The sweep compares each system's steady state. A fresh cluster's first seconds are
          // not one (ours: every member's V8 compiles the write path at once, 7 processes on
          // this machine's cores), so they are measured on their own and kept out of the cells.
          const start = await runLoad(target, 'put', 1, 0, cfg.scaleStartMs);
          scale.push({ system: d.name, phase: 'start', nodes, clients: 1, opsPerSec: start.opsPerSec, p50Ms: start.p50Ms, p99Ms: start.p99Ms, serverCpuMsPerOp: start.serverCpuMsPerOp, errors: start.errors });
          log(`scale: ${d.name} ${nodes} members, start-up (1 client, first ${cfg.scaleStartMs / 1000}s): ${loadSummary(start, c.rssMB())}`);
          await runLoad(target, 'put', 16, 0, cfg.scaleSettleMs);
          await runLoad(target, 'put', 1, 0, cfg.scaleSettleMs);
          for (const clients of cfg.scaleClients) {
            const r = await runLoad(target, 'put', clients, cfg.scaleWarmupMs, cfg.scaleDurationMs);
            scale.push({ system: d.name, phase: 'steady', nodes, clients, opsPerSec: r.opsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, serverCpuMsPerOp: r.serverCpuMsPerOp, errors: r.errors });
            log(`scale: ${d.name} ${nodes} members ${clients} clients: ${loadSummary(r, c.rssMB())}`);
          }
        });
      }
    }
  }

  if (parts.has('agents')) {
    log(`agents: ${cfg.agents} agents over 3 controllers${drivers.length > 1 ? ` and ${cfg.agents} watchers over 3 etcd members (their client: ${watchClient})` : ''}, ${cfg.changes} changes each after ${cfg.warmupChanges} untimed, then a kill of the controller (member) serving a third`);
    for (const d of ordered(drivers, 1)) {
      await withCluster(d, 3, async (c) => {
        const agentCfg = { agents: cfg.agents, changes: cfg.changes, warmupChanges: cfg.warmupChanges, threads: cfg.agentThreads, watchClient, log };
        const r: { fanout: FanoutResult; failover: AgentFailoverResult } = c instanceof OursCluster ? await oursAgents(c, agentCfg) : await etcdWatchers(c as EtcdCluster, agentCfg);
        const f = r.fanout;
        const k = r.failover;
        results.push({ system: d.name, workload: 'agent-fanout', opsPerSec: 0, p50Ms: f.p50Ms, p99Ms: f.p99Ms, failoverMs: 0, rssMB: f.rssMB, agents: f.agents, changes: f.changes, maxMs: f.maxMs, kbPerAgent: f.kbPerAgent, serverCpuMsPerChange: f.serverCpuMsPerChange, fleetCpuMsPerChange: f.fleetCpuMsPerChange });
        results.push({ system: d.name, workload: 'agent-failover', opsPerSec: 0, p50Ms: 0, p99Ms: 0, failoverMs: k.recoverMs, rssMB: f.rssMB, agents: f.agents, moved: k.moved, bytesResent: k.bytesResent, shownOffline: k.shownOffline });
        extra.set(`${d.name}|agent-fanout`, { serverCpuMsPerOp: f.serverCpuMsPerChange, clientCpuMsPerOp: f.fleetCpuMsPerChange, errors: 0, foreignCpuPct: 0, roundOpsPerSec: [], samplesMs: f.samplesMs, rssPerNodeMB: c.rssMB().map((x) => Math.round(x)) });
      });
    }
  }

  if (parts.has('lazy')) {
    log('lazy configuration (ours): 500 services, 200 agents each depending on 5; not lazy, then lazy, each on a fresh 3-controller cluster');
    const started: OursCluster[] = [];
    const start = async (): Promise<OursCluster> => {
      const c = await startOurs(3);
      live.add(c);
      started.push(c);
      return c;
    };
    const r = await oursLazy(start, { services: 500, agents: 200, dependencies: 5, samples: quick ? 20 : 50, log }).finally(() => {
      for (const c of started) live.delete(c);
    });
    const common = { opsPerSec: 0, failoverMs: 0, rssMB: r.rssMBLazy, agents: r.agents, services: r.services, dependencies: r.dependencies };
    results.push({ system: 'ours', workload: 'lazy-config', ...common, p50Ms: 0, p99Ms: 0, resourcesPerAgentFull: r.resourcesPerAgentFull, resourcesPerAgentLazy: r.resourcesPerAgentLazy, bytesPerAgentFull: r.bytesPerAgentFull, bytesPerAgentLazy: r.bytesPerAgentLazy, bytesRatio: r.bytesRatio, rssMBFull: r.rssMBFull, agentKBFull: r.agentKBFull, agentKBLazy: r.agentKBLazy });
    results.push({ system: 'ours', workload: 'lazy-change', ...common, p50Ms: 0, p99Ms: 0, agentsPushedFull: r.agentsPushedFull, agentsPushedLazy: r.agentsPushedLazy, dependents: r.dependents });
    results.push({ system: 'ours', workload: 'lazy-resolve', ...common, p50Ms: r.resolveP50Ms, p99Ms: r.resolveP99Ms, maxMs: r.resolveMaxMs, samples: r.resolveSamplesMs.length });
    extra.set('ours|lazy-resolve', { serverCpuMsPerOp: 0, clientCpuMsPerOp: 0, errors: 0, foreignCpuPct: 0, roundOpsPerSec: [], samplesMs: r.resolveSamplesMs, rssPerNodeMB: [] });
  }

  const end = measureFsync(os.tmpdir(), quick ? 300 : 1000);
  machine = { ...machine, fsyncEndP50Ms: round(end.p50, 3), fsyncEndP99Ms: round(end.p99, 3) };
  const etcdLine = drivers.length > 1 ? `\netcd driven through its ${opts.etcdApi === 'grpc' ? 'gRPC KV service (grpc-js, as ours)' : 'v3 JSON gateway (HTTP/1.1 keep-alive, one connection per client)'}` : '';
  const out: string[] = [machineText(machine) + etcdLine, `load average at the end ${round(load().load1, 2)} on ${load().cores} cores`];
  if (results.length > 0) out.push(resultsTable(results, extra));
  if (drivers.length > 1 && results.length > 0) out.push(ratiosText(results));
  out.push(floorText(machine, results, extra));
  if (convergence.length > 0) out.push(convergenceText(convergence, OURS_BASE_TIMEOUT));
  if (scale.length > 0) out.push(`scale: puts, 100-byte values\n${scaleText(scale)}`);
  if (results.some((r) => r.workload === 'agent-fanout')) out.push(agentsText(results));
  if (results.some((r) => r.workload === 'lazy-config')) out.push(lazyText(results));
  process.stdout.write(out.join('\n\n') + '\n');

  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine, results }, null, 2) + '\n');
  if (opts.details) {
    const details = { machine, config: { ...cfg, etcdApi: opts.etcdApi }, results, extra: Object.fromEntries(extra), convergence, scale };
    fs.writeFileSync(opts.details, JSON.stringify(details, null, 2) + '\n');
  }
  if (opts.chart && scale.length > 0) {
    const caption = `${machine.cpus} x ${machine.cpuModel}, ${new Date().toISOString().slice(0, 10)}; solid: ours, dashed: etcd ${machine.etcdVersion ?? ''}`;
    fs.writeFileSync(opts.chart, scaleChart(scale.filter((r) => r.phase === 'steady'), caption));
  }
  log('done');
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
