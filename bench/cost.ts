/**
 * `node dist/bench/cost.js [--build NAME=DIST]... [--vs etcd] [--rate 50] [--clients 1] [--puts 500]`
 *
 * What one put costs, measured in CPU rather than wall-clock time, so that two builds (or ours
 * and etcd) can be compared on a machine that other jobs share: wall-clock latency swings with
 * the load, CPU per operation much less. For each system, in alternating rounds on fresh
 * clusters: the idle CPU of each member; then puts from one client (or `--clients N`, each with
 * connections of its own, what a connection costs a server) at a fixed rate (an open loop paced by the clock, so every system does the same work per second and the idle share
 * per put is the same), with the CPU of the leader and of the followers per put, split into
 * the main thread (the event loop) and the other threads (libuv's pool: LevelDB writes and
 * fsyncs; V8's compiler and GC helpers); p50 and p99; resident memory. The memory at rest is read
 * once the settle is over, before the idle window: resident (anonymous and file-backed), and from
 * smaps_rollup the proportional share and the private dirty pages, which are what each member
 * costs of its own (the node binary's file pages are shared by the members on one host).
 *
 * `--build NAME=DIST` names the dist directory of another build (the output of `npm run build`,
 * copied aside: it holds bin/controller.js, or src/cli/controller.js before the binaries were
 * bundled), so a change is measured as an A/B of the same
 * workload, alternating builds round by round. Without it, this tree's build runs. `--node-args`
 * and `--env` give one build's controllers node options or environment (glibc reads its malloc
 * variables only at start).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { EtcdCluster, ensureEtcd } from './etcd.js';
import { OursCluster } from './ours.js';
import { machineBusyMs, memoryMB, rssMB, type MemoryMB } from './proc.js';
import { histogram, median, percentileMs, recordMs, round } from './stats.js';
import { mainThreadSwitches, minus, threadCpu, type ThreadCpu } from './threads.js';
import { keyOf, VALUE, type KvTarget } from './workloads.js';

interface Opts {
  build: string[];
  vs?: 'etcd';
  etcd?: string;
  nodes: string;
  rate: string;
  clients: string;
  puts: string;
  idle: string;
  settle: string;
  rounds: string;
  nodeArgs: string[];
  env: string[];
  json?: string;
}

const program = new Command()
  .name('cost')
  .description('CPU per put (leader, followers; main thread and others), idle CPU and memory, as an A/B of builds or beside etcd.')
  .option('--build <name=dist>', 'a build to measure: NAME=path of its dist directory (repeatable; default: this tree)', (v: string, acc: string[]) => [...acc, v], [])
  .option('--node-args <name=args>', "node options for one build's controllers, e.g. 'b=--max-semi-space-size=2' (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
  .option('--env <name=VAR=value>', "environment for one build's controllers, e.g. 'b=MALLOC_ARENA_MAX=2' (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
  .addOption(new Option('--vs <system>', 'also measure this system').choices(['etcd']))
  .option('--etcd <path>', 'the etcd binary')
  .option('--nodes <n>', 'members per cluster', '3')
  .option('--rate <n>', 'puts per second', '50')
  .option('--clients <n>', 'clients sharing the rate, each with a connection of its own (put j goes to client j mod n)', '1')
  .option('--puts <n>', 'puts measured per round', '500')
  .option('--idle <s>', 'seconds of idle measurement per round', '5')
  .option('--settle <s>', 'seconds between the warm-up puts and the idle measurement (a long-running server has finished compiling)', '1')
  .option('--rounds <n>', 'rounds per system', '3')
  .option('--json <file>', 'write every round as JSON')
  .parse();
const opts = program.opts<Opts>();

const here = path.dirname(fileURLToPath(import.meta.url));
const thisDist = path.resolve(here, '..');

interface System {
  readonly name: string;
  start(nodes: number): Promise<OursCluster | EtcdCluster>;
}

function split(v: string, what: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0) program.error(`${what}: expected NAME=VALUE, found ${JSON.stringify(v)}`);
  return [v.slice(0, i), v.slice(i + 1)];
}

const nodeArgs = new Map(opts.nodeArgs.map((v) => split(v, '--node-args')));
const envs = new Map<string, Record<string, string>>();
for (const v of opts.env) {
  const [name, assignment] = split(v, '--env');
  const [key, value] = split(assignment, '--env');
  envs.set(name, { ...envs.get(name), [key]: value });
}
const builds = (opts.build.length > 0 ? opts.build : [`this=${thisDist}`]).map((v) => split(v, '--build'));
const systems: System[] = builds.map(([name, dist]) => {
  // The bundled binary operators run; a build from before the bundling has only the unbundled one.
  const controllerJs = [path.resolve(dist, 'bin/controller.js'), path.resolve(dist, 'src/cli/controller.js')].find((f) => fs.existsSync(f));
  if (controllerJs === undefined) program.error(`--build ${name}: expected ${path.resolve(dist, 'bin/controller.js')} or ${path.resolve(dist, 'src/cli/controller.js')}, found neither`);
  const args = (nodeArgs.get(name) ?? '').split(' ').filter((a) => a !== '');
  return { name, start: (n) => OursCluster.start(n, { controllerJs, nodeArgs: args, env: envs.get(name) ?? {} }) };
});
if (opts.vs === 'etcd') {
  const bin = opts.etcd ?? ensureEtcd((s) => process.stderr.write(`${s}\n`));
  systems.push({ name: 'etcd', start: (n) => EtcdCluster.start(bin, n, 'grpc') });
}

for (const [name, v] of [['--nodes', opts.nodes], ['--rate', opts.rate], ['--clients', opts.clients], ['--puts', opts.puts], ['--rounds', opts.rounds]] as const) {
  if (!/^[1-9][0-9]*$/.test(v)) program.error(`${name}: expected a positive integer, found ${JSON.stringify(v)}`);
}
const cfg = { nodes: Number(opts.nodes), rate: Number(opts.rate), clients: Number(opts.clients), puts: Number(opts.puts), idleMs: Number(opts.idle) * 1000, settleMs: Number(opts.settle) * 1000, rounds: Number(opts.rounds) };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Round {
  readonly system: string;
  readonly load1: number;
  /** Other processes' CPU during the puts, % of one core. */
  readonly otherCpuPct: number;
  /** Mean idle CPU per member, % of one core. */
  readonly idlePct: number;
  /** Mean wake-ups per second of an idle member's main thread (voluntary context switches). */
  readonly idleWakeups: number;
  /** Wake-ups of the main thread (voluntary context switches) per put: the leader's, and a follower's (mean). */
  readonly leaderWakeups: number;
  readonly followerWakeups: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU per put in ms; followers averaged. */
  readonly leader: ThreadCpu;
  readonly follower: ThreadCpu;
  /** Every member together, per put. */
  readonly totalMs: number;
  /** The load generator (this process), per put. */
  readonly clientMs: number;
  /** Mean resident memory per member at the end, MB. */
  readonly rssMB: number;
  /** Mean memory per member at rest (after the settle, before the idle window), MB. */
  readonly idleMemory: MemoryMB;
}

function meanMemory(pids: readonly number[]): MemoryMB {
  const ms = pids.map((p) => memoryMB(p) ?? { rss: 0, anon: 0, file: 0, pss: 0, privateDirty: 0 });
  const mean = (f: (m: MemoryMB) => number): number => round(ms.reduce((n, m) => n + f(m), 0) / Math.max(1, ms.length), 1);
  return { rss: mean((m) => m.rss), anon: mean((m) => m.anon), file: mean((m) => m.file), pss: mean((m) => m.pss), privateDirty: mean((m) => m.privateDirty) };
}

function snapshot(pids: readonly number[]): ThreadCpu[] {
  return pids.map((p) => threadCpu(p) ?? { mainMs: 0, otherMs: 0 });
}

async function measure(sys: System): Promise<Round> {
  const c = await sys.start(cfg.nodes);
  try {
    const leaderPid = await c.leaderPid();
    const pids = c.pids();
    const order = [leaderPid!, ...pids.filter((p) => p !== leaderPid)];
    const target: KvTarget = await c.target();
    const clients = Array.from({ length: cfg.clients }, () => target.client());
    // Warm the path (and every client's connections) before anything is measured.
    for (const client of clients) for (let i = 0; i < Math.max(2, Math.ceil(200 / cfg.clients)); i++) await client.put(keyOf(i), VALUE);
    await sleep(cfg.settleMs);
    const idleMemory = meanMemory(order);
    const switches = (): number => order.reduce((n, p) => n + (mainThreadSwitches(p) ?? 0), 0);
    let before = snapshot(order);
    const switches0 = switches();
    let t0 = performance.now();
    await sleep(cfg.idleMs);
    const idle = snapshot(order).map((s, i) => minus(s, before[i]!));
    const idleWall = performance.now() - t0;
    const idleWakeups = ((switches() - switches0) * 1000) / idleWall / order.length;
    const idlePct = (100 * idle.reduce((n, s) => n + s.mainMs + s.otherMs, 0)) / order.length / idleWall;

    const h = histogram();
    const perMember = (): number[] => order.map((p) => mainThreadSwitches(p) ?? 0);
    const woken0 = perMember();
    before = snapshot(order);
    const machine0 = machineBusyMs();
    const client0 = process.cpuUsage();
    t0 = performance.now();
    // Each client its own open loop over its share of the schedule: put i is due at i / rate,
    // on client i mod n (a client still busy with its previous put sends this one late).
    await Promise.all(
      clients.map(async (client, j) => {
        for (let i = j; i < cfg.puts; i += clients.length) {
          const due = t0 + (i * 1000) / cfg.rate;
          const now = performance.now();
          if (due > now) await sleep(due - now);
          const start = performance.now();
          await client.put(keyOf(i), VALUE);
          recordMs(h, performance.now() - start);
        }
      }),
    );
    const used = snapshot(order).map((s, i) => minus(s, before[i]!));
    const woken = perMember().map((n, i) => n - woken0[i]!);
    const wall = performance.now() - t0;
    const cc = process.cpuUsage(client0);
    const clientMs = (cc.user + cc.system) / 1000;
    const serverMs = used.reduce((n, s) => n + s.mainMs + s.otherMs, 0);
    const otherMs = Math.max(0, machineBusyMs() - machine0 - serverMs - clientMs);
    for (const client of clients) client.close();
    const followers = used.slice(1);
    const per = (x: number): number => round(x / cfg.puts, 3);
    return {
      system: sys.name,
      load1: round(os.loadavg()[0] ?? 0, 1),
      otherCpuPct: Math.round((100 * otherMs) / wall),
      idlePct: round(idlePct, 2),
      idleWakeups: Math.round(idleWakeups),
      leaderWakeups: round(woken[0]! / cfg.puts, 2),
      followerWakeups: round(woken.slice(1).reduce((n, w) => n + w, 0) / Math.max(1, woken.length - 1) / cfg.puts, 2),
      p50Ms: round(percentileMs(h, 50), 3),
      p99Ms: round(percentileMs(h, 99), 3),
      leader: { mainMs: per(used[0]!.mainMs), otherMs: per(used[0]!.otherMs) },
      follower: {
        mainMs: per(followers.reduce((n, s) => n + s.mainMs, 0) / Math.max(1, followers.length)),
        otherMs: per(followers.reduce((n, s) => n + s.otherMs, 0) / Math.max(1, followers.length)),
      },
      totalMs: per(serverMs),
      clientMs: per(clientMs),
      rssMB: round(order.reduce((n, p) => n + (rssMB(p) ?? 0), 0) / order.length, 1),
      idleMemory,
    };
  } finally {
    await c.stop();
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rounds: readonly Round[]): string {
  const head = ['system', 'p50 ms', 'p99 ms', 'leader main', 'leader other', 'follower main', 'follower other', 'all members', 'client', 'wake-ups leader', 'wake-ups follower', 'idle %/member', 'idle wake-ups/s', 'idle rss', 'anon', 'file', 'pss', 'priv dirty', 'rss MB', 'other CPU %', 'load'];
  const rows = [...new Set(rounds.map((r) => r.system))].map((name) => {
    const rs = rounds.filter((r) => r.system === name);
    const m = (f: (r: Round) => number): string => String(round(median(rs.map(f)), 3));
    return [
      name,
      m((r) => r.p50Ms),
      m((r) => r.p99Ms),
      m((r) => r.leader.mainMs),
      m((r) => r.leader.otherMs),
      m((r) => r.follower.mainMs),
      m((r) => r.follower.otherMs),
      m((r) => r.totalMs),
      m((r) => r.clientMs),
      m((r) => r.leaderWakeups),
      m((r) => r.followerWakeups),
      m((r) => r.idlePct),
      m((r) => r.idleWakeups),
      m((r) => r.idleMemory.rss),
      m((r) => r.idleMemory.anon),
      m((r) => r.idleMemory.file),
      m((r) => r.idleMemory.pss),
      m((r) => r.idleMemory.privateDirty),
      m((r) => r.rssMB),
      `${Math.min(...rs.map((r) => r.otherCpuPct))}-${Math.max(...rs.map((r) => r.otherCpuPct))}`,
      `${Math.min(...rs.map((r) => r.load1))}-${Math.max(...rs.map((r) => r.load1))}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => pad(c, widths[i]!)).join('  ');
  return [
    `CPU per put in ms (medians of ${rounds.length / Math.max(1, new Set(rounds.map((r) => r.system)).size)} rounds), ${cfg.nodes} members, ${cfg.clients === 1 ? 'one client' : `${cfg.clients} clients`} at ${cfg.rate} puts/s`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}

const rounds: Round[] = [];
for (let k = 0; k < cfg.rounds; k++) {
  // Alternate the order round by round, so a trend in the machine's load hits every system alike.
  const order = k % 2 === 0 ? systems : [...systems].reverse();
  for (const sys of order) {
    const r = await measure(sys);
    process.stderr.write(`cost: round ${k + 1} ${JSON.stringify(r)}\n`);
    rounds.push(r);
  }
}
process.stdout.write(`${table(rounds)}\n`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ config: cfg, rounds }, null, 2));
process.exit(0);
