/**
 * Where a fresh cluster's first seconds go: N controllers (dist/bin/controller.js) started at
 * once on loopback, each tracing its start-up milestones (CONTROLLER_TRACE, src/util/trace.ts:
 * CLOCK_MONOTONIC, shared by every process on the machine), until every node knows the same
 * leader. Then every process is stopped by its own PID and the traces are read back.
 *
 *   node dist/bench/start-timeline.js --nodes 11 --runs 3 [--base-port 47000] [--keep]
 *
 * Per node, milliseconds from the moment the harness spawned it: main() entered (module loading
 * done), config loaded, start-up question asked and decided, listening, ticking, first peer
 * channel READY, first PreVote and Vote sent, leader known; the CPU it had used (/proc/PID/stat)
 * when every node knew the leader; how many peer connection attempts it abandoned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs, machineBusyMs } from './proc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONTROLLER_JS = path.join(root, 'dist/bin/controller.js');

interface Args {
  nodes: number;
  runs: number;
  basePort: number;
  timeoutMs: number;
  keep: boolean;
  electionTimeoutMs: number;
  json: string | null;
  /** Extra arguments for node (e.g. --cpu-prof --cpu-prof-dir=DIR). */
  nodeArgs: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { nodes: 11, runs: 1, basePort: 47000, timeoutMs: 120_000, keep: false, electionTimeoutMs: 1000, json: null, nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k}: expected a value`);
      return x;
    };
    if (k === '--nodes') a.nodes = Number(v());
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--base-port') a.basePort = Number(v());
    else if (k === '--timeout') a.timeoutMs = Number(v()) * 1000;
    else if (k === '--election-timeout') a.electionTimeoutMs = Number(v());
    else if (k === '--json') a.json = v();
    else if (k === '--node-arg') a.nodeArgs.push(v());
    else if (k === '--keep') a.keep = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (a.basePort < 47000 || a.basePort + a.nodes > 48000) throw new Error('ports must stay within 47000-47999');
  return a;
}

interface Proc {
  readonly id: string;
  readonly child: ChildProcess;
  readonly spawnedNs: bigint;
  readonly log: string;
  readonly exited: Promise<void>;
}

export interface NodeTimeline {
  readonly id: string;
  /** ms since this process was spawned; null: never happened. */
  readonly main: number | null;
  readonly config: number | null;
  readonly helloAsked: number | null;
  readonly decided: number | null;
  readonly decision: string;
  readonly listening: number | null;
  readonly ticking: number | null;
  readonly firstReady: number | null;
  readonly firstPreVote: number | null;
  readonly firstVote: number | null;
  readonly leaderKnown: number | null;
  readonly becameLeader: number | null;
  readonly stuck: number;
  readonly preVoteRounds: number;
  readonly cpuAtLeaderMs: number | null;
  readonly spawnOffsetMs: number;
  /** CPU ms the process had used at each milestone (its own count, process.cpuUsage). */
  readonly cpu: Readonly<Record<string, number>>;
}

export interface RunResult {
  readonly nodes: number;
  readonly load: readonly number[];
  /** ms from the first spawn until the first node became leader / until every node knew it. */
  readonly firstLeaderMs: number | null;
  readonly allKnowMs: number | null;
  readonly terms: number;
  /** CPU ms the whole machine spent from the first spawn until every node knew the leader, and how much of it was not ours (other jobs). */
  readonly machineMs: number | null;
  readonly foreignMs: number | null;
  readonly wallMs: number | null;
  readonly timelines: readonly NodeTimeline[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runOnce(a: Args, run: number): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `start-timeline-${a.nodes}-`));
  const traceDir = path.join(dir, 'trace');
  fs.mkdirSync(traceDir);
  const ids = Array.from({ length: a.nodes }, (_, i) => `c${i + 1}`);
  const yaml = [
    'cluster:',
    '  name: timeline',
    '  nodes:',
    ...ids.map((id, i) => `    - { id: ${id}, address: "127.0.0.1:${a.basePort + i}" }`),
    'controller:',
    `  data_dir: ${path.join(dir, 'data')}/\${id}`,
    '  log_level: info',
    '  heartbeat:',
    '    base_timeout: 2000ms',
    '    dynamic_adjustment: true',
    '  state_sync_interval: 2000ms',
    'raft:',
    `  heartbeat_interval: ${Math.max(20, Math.round(a.electionTimeoutMs / 10))}ms`,
    `  election_timeout: ${a.electionTimeoutMs}ms`,
    '  snapshot_threshold: 2000',
    '',
  ].join('\n');
  const configFile = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(configFile, yaml);
  const load = os.loadavg();
  const procs: Proc[] = [];
  const busy0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const id of ids) {
    const log = path.join(dir, `${id}.log`);
    const fd = fs.openSync(log, 'a');
    const spawnedNs = process.hrtime.bigint();
    const child = spawn(process.execPath, [...a.nodeArgs, CONTROLLER_JS, '--config', configFile, '--id', id], { stdio: ['ignore', fd, fd], env: { ...process.env, CONTROLLER_TRACE: traceDir } });
    fs.closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    procs.push({ id, child, spawnedNs, log, exited });
  }
  // Leader known per node, from its log (pino writes synchronously).
  const known = new Map<string, string>();
  let firstLeaderNs: bigint | null = null;
  let allKnowNs: bigint | null = null;
  const cpuAtLeader = new Map<string, number | null>();
  let busyAtLeader: number | null = null;
  let selfAtLeader = 0;
  const deadline = performance.now() + a.timeoutMs;
  while (performance.now() < deadline) {
    for (const p of procs) {
      let text: string;
      try {
        text = fs.readFileSync(p.log, 'utf8');
      } catch {
        continue;
      }
      let leader: string | null = null;
      for (const line of text.split('\n')) {
        if (!line.includes('raft state changed')) continue;
        try {
          const o = JSON.parse(line) as { leader?: string | null; role?: string };
          leader = o.leader ?? null;
          if (o.role === 'leader' && firstLeaderNs === null) firstLeaderNs = process.hrtime.bigint();
        } catch {
          // a line being written
        }
      }
      if (leader !== null) known.set(p.id, leader);
      else known.delete(p.id);
    }
    const leaders = new Set(known.values());
    if (known.size === ids.length && leaders.size === 1) {
      allKnowNs = process.hrtime.bigint();
      for (const p of procs) cpuAtLeader.set(p.id, p.child.pid === undefined ? null : cpuMs(p.child.pid));
      busyAtLeader = machineBusyMs() - busy0;
      const self = process.cpuUsage(self0);
      selfAtLeader = (self.user + self.system) / 1000;
      break;
    }
    if (procs.some((p) => p.child.exitCode !== null)) break;
    await sleep(50);
  }
  // Stop what we started, by PID.
  for (const p of procs) p.child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }, 8000);
  await Promise.all(procs.map((p) => p.exited));
  clearTimeout(force);

  const timelines: NodeTimeline[] = [];
  let maxTerm = 0;
  for (const p of procs) {
    const file = path.join(traceDir, `${p.child.pid}.trace`);
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
    const ms = (ns: bigint): number => Number(ns - p.spawnedNs) / 1e6;
    const first = new Map<string, number>();
    const cpu: Record<string, number> = {};
    let decision = '';
    let stuck = 0;
    let preVoteRounds = 0;
    let lastPreVoteTerm = '';
    for (const line of lines) {
      const m = /^(\d+) (\S+) ?(.*)$/.exec(line);
      if (m === null) continue;
      const [, ns, ev, detail] = m as unknown as [string, string, string, string];
      const t = ms(BigInt(ns));
      const once = (k: string): void => {
        if (first.has(k)) return;
        first.set(k, t);
        const c = /cpu=(\d+)/.exec(detail);
        if (c !== null) cpu[k] = Number(c[1]);
      };
      if (ev.startsWith('start.')) once(ev);
      if (ev === 'start.decided') decision = detail.replace(/ ?cpu=\d+/, '');
      if (ev === 'peer.state' && detail.endsWith(' READY')) once('ready');
      if (ev === 'peer.stuck') stuck += 1;
      if (ev === 'peer.send') {
        const types = detail.split(' ')[1] ?? '';
        if (types.split(',').includes('PreVote')) once('prevote');
        if (types.split(',').includes('Vote')) once('vote');
      }
      if (ev === 'raft.soft') {
        const [role, leader, term] = detail.split(' ');
        if (leader !== '-' && leader !== undefined) once('leader');
        if (role === 'leader') once('became');
        if (role === 'pre-candidate' && term !== lastPreVoteTerm) {
          preVoteRounds += 1;
          lastPreVoteTerm = term ?? '';
        }
        maxTerm = Math.max(maxTerm, Number(term));
      }
    }
    const g = (k: string): number | null => {
      const v = first.get(k);
      return v === undefined ? null : Math.round(v);
    };
    timelines.push({
      id: p.id,
      main: g('start.main'),
      config: g('start.config'),
      helloAsked: g('start.hello'),
      decided: g('start.decided'),
      decision,
      listening: g('start.listening'),
      ticking: g('start.ticking'),
      firstReady: g('ready'),
      firstPreVote: g('prevote'),
      firstVote: g('vote'),
      leaderKnown: g('leader'),
      becameLeader: g('became'),
      stuck,
      preVoteRounds,
      cpuAtLeaderMs: cpuAtLeader.get(p.id) ?? null,
      spawnOffsetMs: Math.round(Number(p.spawnedNs - t0) / 1e6),
      cpu,
    });
  }
  const since0 = (ns: bigint | null): number | null => (ns === null ? null : Math.round(Number(ns - t0) / 1e6));
  if (!a.keep && allKnowNs !== null) fs.rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`run ${run}: kept ${dir}\n`);
  const ours = [...cpuAtLeader.values()].reduce<number>((sum, c) => sum + (c ?? 0), 0) + selfAtLeader;
  return {
    nodes: a.nodes,
    load,
    firstLeaderMs: since0(firstLeaderNs),
    allKnowMs: since0(allKnowNs),
    terms: maxTerm,
    machineMs: busyAtLeader === null ? null : Math.round(busyAtLeader),
    foreignMs: busyAtLeader === null ? null : Math.max(0, Math.round(busyAtLeader - ours)),
    wallMs: since0(allKnowNs),
    timelines,
  };
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor((s.length - 1) / 2)]!;
}

const COLUMNS: ReadonlyArray<readonly [string, (t: NodeTimeline) => number | null]> = [
  ['main', (t) => t.main],
  ['config', (t) => t.config],
  ['hello', (t) => t.helloAsked],
  ['decided', (t) => t.decided],
  ['listen', (t) => t.listening],
  ['tick', (t) => t.ticking],
  ['ready', (t) => t.firstReady],
  ['prevote', (t) => t.firstPreVote],
  ['vote', (t) => t.firstVote],
  ['leader', (t) => t.leaderKnown],
  ['cpu', (t) => t.cpuAtLeaderMs],
  ['stuck', (t) => t.stuck],
  ['rounds', (t) => t.preVoteRounds],
];

export function formatRun(r: RunResult): string {
  const cell = (v: number | null): string => (v === null ? '-' : String(v)).padStart(8);
  const out = [
    `${r.nodes} nodes, load ${r.load.map((l) => l.toFixed(2)).join(' ')}: first leader ${r.firstLeaderMs ?? '-'} ms, all know it ${r.allKnowMs ?? '-'} ms, term ${r.terms}` +
      (r.foreignMs === null || r.wallMs === null || r.wallMs === 0 ? '' : `; other jobs used ${(r.foreignMs / r.wallMs).toFixed(2)} cores meanwhile (machine ${((r.machineMs ?? 0) / r.wallMs).toFixed(2)})`),
    `${'node'.padEnd(5)}${'spawn+'.padStart(8)}${COLUMNS.map(([n]) => n.padStart(8)).join('')}  decision`,
  ];
  for (const t of r.timelines) out.push(`${t.id.padEnd(5)}${cell(t.spawnOffsetMs)}${COLUMNS.map(([, f]) => cell(f(t))).join('')}  ${t.decision}`);
  out.push(`${'med'.padEnd(5)}${cell(null)}${COLUMNS.map(([, f]) => cell(median(r.timelines.map(f).filter((v): v is number => v !== null)))).join('')}`);
  const CPU_AT = ['start.main', 'start.config', 'start.hello', 'start.decided', 'start.listening', 'start.ticking', 'leader'] as const;
  const medCpu = CPU_AT.map((k) => median(r.timelines.map((t) => t.cpu[k]).filter((v): v is number => v !== undefined)));
  out.push(`${'max'.padEnd(5)}${cell(null)}${COLUMNS.map(([, f]) => cell(Math.max(...r.timelines.map(f).filter((v): v is number => v !== null)))).join('')}`);
  out.push(`median CPU ms used by: ${CPU_AT.map((k, i) => `${k.replace('start.', '')} ${medCpu[i] ?? '-'}`).join(', ')}`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const results: RunResult[] = [];
  for (let run = 1; run <= a.runs; run++) {
    const r = await runOnce(a, run);
    results.push(r);
    process.stdout.write(`${formatRun(r)}\n\n`);
  }
  if (a.json !== null) fs.writeFileSync(a.json, JSON.stringify(results, null, 1));
}

await main();
