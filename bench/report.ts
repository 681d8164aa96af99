/** The report: the contract's JSON rows, the terminal tables, and the physical floor in words. */
import Table from 'cli-table3';
import { fsyncFloorMs, type MachineInfo } from './machine.js';
import type { SystemName } from './system.js';
import { round } from './stats.js';

export type Workload = 'put-1' | 'put-64' | 'get-64' | 'failover' | 'agent-fanout' | 'agent-failover' | 'lazy-config' | 'lazy-change' | 'lazy-resolve';

/** The contract's row (docs/benchmarks.md, "Running it": `--json FILE`); agent rows add their own fields. */
export interface ResultRow extends Partial<AgentFields>, Partial<LazyFields> {
  readonly system: SystemName;
  readonly workload: Workload;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failoverMs: number;
  readonly rssMB: number;
}

/**
 * agent-fanout: 1,000 agents (etcd: watchers) over 3 controllers (members); p50Ms/p99Ms/maxMs
 * from a change to the last ACK (event); kbPerAgent: controller RSS per connected agent;
 * serverCpuMsPerChange / fleetCpuMsPerChange: CPU per change of the servers and of the agents' fleet.
 * agent-failover: failoverMs from SIGKILL of the controller serving a third to all current again;
 * bytesResent to agents already current; shownOffline: agents ever shown offline.
 */
export interface AgentFields {
  readonly agents: number;
  readonly changes: number;
  readonly maxMs: number;
  readonly kbPerAgent: number;
  /** CPU per change: the controllers' (members') together, and the fleet's (watchers'). */
  readonly serverCpuMsPerChange: number;
  readonly fleetCpuMsPerChange: number;
  readonly moved: number;
  readonly bytesResent: number;
  readonly shownOffline: number;
}

/**
 * lazy-config: 500 services and 200 agents each depending on 5; resources and bytes pushed per
 * agent, not lazy (full) and lazy, and their ratio; rssMB with the lazy agents, rssMBFull with
 * the others. lazy-change: agents pushed after one service change, both ways, and its
 * dependents. lazy-resolve: p50Ms/p99Ms/maxMs from a /resolve miss to the agent's ACK.
 */
export interface LazyFields {
  readonly services: number;
  readonly dependencies: number;
  readonly resourcesPerAgentFull: number;
  readonly resourcesPerAgentLazy: number;
  readonly bytesPerAgentFull: number;
  readonly bytesPerAgentLazy: number;
  readonly bytesRatio: number;
  readonly rssMBFull: number;
  readonly agentKBFull: number;
  readonly agentKBLazy: number;
  readonly agentsPushedFull: number;
  readonly agentsPushedLazy: number;
  readonly dependents: number;
  readonly samples: number;
}

/** What the terminal and --details show beyond the contract. */
export interface RowExtra {
  readonly serverCpuMsPerOp: number;
  readonly clientCpuMsPerOp: number;
  readonly errors: number;
  /** CPU used by other processes during the measurement, % of one core. */
  readonly foreignCpuPct: number;
  /** Throughput of each round, to show the spread. */
  readonly roundOpsPerSec: readonly number[];
  /** Failover samples, ms. */
  readonly samplesMs: readonly number[];
  readonly rssPerNodeMB: readonly number[];
  /** An idle member's CPU, % of one core, 2 s after its cluster started (before the failovers). */
  readonly idleCpuPctPerMember?: number;
  /** The same after the cluster rested (`--idle-settle`), when asked for. */
  readonly idleAtRestCpuPctPerMember?: number;
}

/**
 * `start`: one client over the first seconds after a fresh cluster's leader is known (its
 * start-up, for ours V8 compiling the write path in every member at once); `steady`: a cell of
 * the sweep, measured after the same untimed warm-up load on both systems.
 */
export type ScalePhase = 'start' | 'steady';

export interface ScaleRow {
  readonly system: SystemName;
  readonly phase: ScalePhase;
  readonly nodes: number;
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuMsPerOp: number;
  readonly errors: number;
}

export interface ConvergenceRow {
  readonly offlineMs: number;
  readonly clusterOfflineMs: number;
  readonly onlineMs: number;
}

function table(head: string[]): Table.Table {
  // No colours: the output goes to files and CI logs as often as to a terminal.
  return new Table({ head, style: { head: [], border: [] } });
}

const blank = (v: number, digits = 2): string | number => (v === 0 ? '' : round(v, digits));

export function resultsTable(rows: readonly ResultRow[], extra: ReadonlyMap<string, RowExtra>): string {
  const t = table(['system', 'workload', 'ops/s', 'p50 ms', 'p99 ms', 'failover ms', 'rss MB/node', 'server CPU ms/op', 'client CPU ms/op', 'errors', 'other CPU %']);
  for (const r of rows) {
    const x = extra.get(`${r.system}|${r.workload}`);
    t.push([
      r.system,
      r.workload,
      blank(r.opsPerSec, 0),
      blank(r.p50Ms),
      blank(r.p99Ms),
      blank(r.failoverMs, 0),
      r.rssMB,
      x ? blank(x.serverCpuMsPerOp, 3) : '',
      x ? blank(x.clientCpuMsPerOp, 3) : '',
      x?.errors ?? '',
      x ? Math.round(x.foreignCpuPct) : '',
    ]);
  }
  const idle = [...extra.entries()].filter(([, x]) => x.idleCpuPctPerMember !== undefined);
  const idleLine = idle.map(([k, x]) => `${k.split('|')[0]} ${x.idleCpuPctPerMember}%`).join(', ');
  const rested = idle.filter(([, x]) => x.idleAtRestCpuPctPerMember !== undefined);
  const restLine = rested.map(([k, x]) => `${k.split('|')[0]} ${x.idleAtRestCpuPctPerMember}%`).join(', ');
  return (
    t.toString() +
    (idle.length > 0 ? `\nidle CPU per member (% of one core), just started: ${idleLine}` : '') +
    (rested.length > 0 ? `\nidle CPU per member (% of one core), at rest: ${restLine}` : '')
  );
}

interface Target {
  readonly what: string;
  readonly ratio: number;
  /** The ratio must be at least (true) or at most (false) the bound. */
  readonly atLeast: boolean;
  readonly bound: number;
  readonly aim?: number;
}

export function ratios(rows: readonly ResultRow[]): Target[] {
  const get = (s: SystemName, w: Workload): ResultRow | undefined => rows.find((r) => r.system === s && r.workload === w);
  const ratio = (w: Workload, f: (r: ResultRow) => number): number => {
    const a = get('ours', w);
    const b = get('etcd', w);
    return a && b && f(b) > 0 ? round(f(a) / f(b), 2) : 0;
  };
  return [
    { what: 'put-64 throughput', ratio: ratio('put-64', (r) => r.opsPerSec), atLeast: true, bound: 1.0, aim: 1.5 },
    { what: 'put-64 p99', ratio: ratio('put-64', (r) => r.p99Ms), atLeast: false, bound: 1.0 },
    { what: 'failover', ratio: ratio('failover', (r) => r.failoverMs), atLeast: false, bound: 0.8 },
    { what: 'put-1 p50', ratio: ratio('put-1', (r) => r.p50Ms), atLeast: false, bound: Number.NaN },
    { what: 'get-64 throughput', ratio: ratio('get-64', (r) => r.opsPerSec), atLeast: true, bound: Number.NaN },
    { what: 'rss per node', ratio: ratio('put-64', (r) => r.rssMB), atLeast: false, bound: Number.NaN },
  ];
}

export function ratiosText(rows: readonly ResultRow[]): string {
  const t = table(['ours/etcd', 'ratio', 'target', 'met']);
  for (const r of ratios(rows)) {
    const has = !Number.isNaN(r.bound);
    const met = r.ratio === 0 || !has ? '' : (r.atLeast ? r.ratio >= r.bound : r.ratio <= r.bound) ? 'yes' : 'NO';
    const target = has ? `${r.atLeast ? '>=' : '<='} ${r.bound}${r.aim ? ` (aim ${r.aim})` : ''}` : '';
    t.push([r.what, r.ratio || 'n/a', target, met]);
  }
  return t.toString();
}

export function machineText(m: MachineInfo): string {
  return [
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGB} GiB RAM, ${m.platform}, node ${m.node}${m.etcdVersion ? `, etcd ${m.etcdVersion}` : ''}`,
    `data dirs under ${m.dataRoot}: ${m.filesystem}`,
    `floor: fsync (128 B append + fdatasync) p50 ${m.fsyncP50Ms} ms p99 ${m.fsyncP99Ms} ms; ` +
      `loopback TCP RTT p50 ${m.loopbackRttP50Ms} ms p99 ${m.loopbackRttP99Ms} ms; ` +
      `grpc-js unary call p50 ${m.grpcUnaryP50Ms} ms p99 ${m.grpcUnaryP99Ms} ms, ${m.grpcUnaryCpuUs} µs CPU per call; load average at start ${m.loadAverageAtStart}` +
      (m.fsyncEndP50Ms !== undefined ? `; fsync again at the end p50 ${m.fsyncEndP50Ms} ms p99 ${m.fsyncEndP99Ms} ms` : ''),
  ].join('\n');
}

/**
 * How close each system comes to the floor. Latency: one client's put needs at least a client
 * round trip, the leader's fsync, a round trip to a follower and the follower's fsync (the two
 * fsyncs serial as ours does them; overlapped as the thesis §10.2.1 allows). Throughput: with
 * batching, fsyncs and round trips are shared by every write in flight, so the ceiling is the
 * CPU: cores / (CPU per write, servers + load generator).
 */
export function floorText(m: MachineInfo, rows: readonly ResultRow[], extra: ReadonlyMap<string, RowExtra>): string {
  const fsync = fsyncFloorMs(m);
  const serial = 2 * fsync + 2 * m.loopbackRttP50Ms;
  const overlapped = fsync + 2 * m.loopbackRttP50Ms;
  const lines = [
    `latency floor of one put (fsync p50 ${fsync} ms, the lower of start and end): ${round(serial, 3)} ms with leader and follower fsyncs in series, ` +
      `${round(overlapped, 3)} ms with the leader's fsync overlapped (2 loopback RTT + fsyncs)`,
  ];
  for (const system of ['ours', 'etcd'] as const) {
    const p1 = rows.find((r) => r.system === system && r.workload === 'put-1');
    const p64 = rows.find((r) => r.system === system && r.workload === 'put-64');
    const x = extra.get(`${system}|put-64`);
    if (!p1 || !p64 || !x) continue;
    const cpuPerOp = x.serverCpuMsPerOp + x.clientCpuMsPerOp;
    const ceiling = cpuPerOp > 0 ? Math.round((m.cpus * 1000) / cpuPerOp) : 0;
    const batchBound = Math.round(64 / (serial / 1000));
    lines.push(
      `${system}: put-1 p50 ${p1.p50Ms} ms = ${round(p1.p50Ms / serial, 1)}x the serial floor; ` +
        `put-64 ${p64.opsPerSec} ops/s vs ${batchBound} ops/s if every round trip carried 64 writes at the floor latency, ` +
        `and vs a CPU ceiling of ${ceiling} ops/s (${m.cpus} cores / ${round(cpuPerOp, 3)} CPU ms per put, servers ${x.serverCpuMsPerOp} + load generator ${x.clientCpuMsPerOp})` +
        (ceiling > 0 ? ` = ${Math.round((100 * p64.opsPerSec) / ceiling)}% of it` : ''),
    );
  }
  return lines.join('\n');
}

export function convergenceText(samples: readonly ConvergenceRow[], baseTimeout: string): string {
  const t = table(['ours: SIGSTOP of a follower', ...samples.map((_, i) => `#${i + 1}`)]);
  t.push([`to online=false on all others (ms)`, ...samples.map((s) => Math.round(s.offlineMs))]);
  t.push([`to clusterState=offline on all others (ms)`, ...samples.map((s) => Math.round(s.clusterOfflineMs))]);
  t.push([`SIGCONT to online=true again (ms)`, ...samples.map((s) => Math.round(s.onlineMs))]);
  return `status convergence (heartbeat base_timeout ${baseTimeout})\n${t.toString()}`;
}

export function agentsText(rows: readonly ResultRow[]): string {
  const t = table(['system', 'agents', 'change -> last ACK p50 ms', 'p99 ms', 'max ms', 'CPU ms per change: servers', 'fleet', 'KB per agent', 'kill: all current again ms', 'moved', 'bytes re-sent', 'shown offline']);
  for (const system of ['ours', 'etcd'] as const) {
    const f = rows.find((r) => r.system === system && r.workload === 'agent-fanout');
    const k = rows.find((r) => r.system === system && r.workload === 'agent-failover');
    if (!f && !k) continue;
    t.push([system, f?.agents ?? '', f?.p50Ms ?? '', f?.p99Ms ?? '', f?.maxMs ?? '', f?.serverCpuMsPerChange ?? '', f?.fleetCpuMsPerChange ?? '', f?.kbPerAgent ?? '', k?.failoverMs ?? '', k?.moved ?? '', k?.bytesResent ?? '', system === 'etcd' ? 'n/a' : (k?.shownOffline ?? '')]);
  }
  const ours = rows.find((r) => r.system === 'ours' && r.workload === 'agent-fanout');
  const etcd = rows.find((r) => r.system === 'etcd' && r.workload === 'agent-fanout');
  const ratio = ours && etcd && etcd.p99Ms > 0 ? `\nours/etcd change -> last ACK p99: ${round(ours.p99Ms / etcd.p99Ms, 2)} (target <= 1.0, aim 0.5)` : '';
  return `agents (etcd: watchers), one change at a time\n${t.toString()}${ratio}`;
}

export function lazyText(rows: readonly ResultRow[]): string {
  const c = rows.find((r) => r.workload === 'lazy-config');
  const ch = rows.find((r) => r.workload === 'lazy-change');
  const res = rows.find((r) => r.workload === 'lazy-resolve');
  if (c === undefined) return '';
  const t = table(['', 'not lazy', 'lazy', 'lazyxds demo (published)']);
  t.push(['resources per agent', c.resourcesPerAgentFull ?? '', c.resourcesPerAgentLazy ?? '', 'clusters 265 -> 78, endpoints 1102 -> 208']);
  t.push(['bytes pushed per agent', c.bytesPerAgentFull ?? '', `${c.bytesPerAgentLazy ?? ''} (${c.bytesRatio ?? ''}x fewer; aim >= 20x)`, '']);
  t.push(['agents pushed after one service change', ch?.agentsPushedFull ?? '', `${ch?.agentsPushedLazy ?? ''} (${ch?.dependents ?? ''} depend on it)`, '']);
  t.push(["agent's heap, KB per agent", c.agentKBFull ?? '', c.agentKBLazy ?? '', 'sidecar memory 33 -> 20 MB']);
  t.push(["controllers' RSS, MB per node", c.rssMBFull ?? '', c.rssMB, '']);
  const resolve = res === undefined ? '' : `\n/resolve miss -> ACK of the new dependency: p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms, max ${res.maxMs ?? ''} ms over ${res.samples ?? ''} misses (target p99 <= 1000 ms)`;
  return `lazy configuration: ${c.services ?? ''} services, ${c.agents ?? ''} agents each depending on ${c.dependencies ?? ''}\n${t.toString()}${resolve}`;
}

/** A cell in which no operation was answered within the measured window. */
export const NONE_ANSWERED = 'none answered';

export function scaleText(all: readonly ScaleRow[]): string {
  const rows = all.filter((r) => r.phase === 'steady');
  const systems = [...new Set(all.map((r) => r.system))];
  const head = ['nodes', 'clients', ...systems.flatMap((s) => [`${s} ops/s`, `${s} p50 ms`, `${s} p99 ms`, `${s} CPU ms/op`])];
  const t = table(head);
  const keys = [...new Set(rows.map((r) => `${r.nodes}|${r.clients}`))];
  for (const k of keys) {
    const [nodes, clients] = k.split('|').map(Number) as [number, number];
    const cells: (string | number)[] = [nodes, clients];
    for (const s of systems) {
      const r = rows.find((x) => x.system === s && x.nodes === nodes && x.clients === clients);
      if (r === undefined) cells.push('', '', '', '');
      // Not one answer within the window: no latency was measured, and 0 ms would read as fast.
      else if (r.opsPerSec === 0) cells.push(0, NONE_ANSWERED, NONE_ANSWERED, '');
      else cells.push(r.opsPerSec, r.p50Ms, r.p99Ms, r.serverCpuMsPerOp);
    }
    t.push(cells);
  }
  const starts = all.filter((r) => r.phase === 'start');
  if (starts.length === 0) return t.toString();
  const s = table(['nodes', ...systems.flatMap((x) => [`${x} ops/s`, `${x} p50 ms`, `${x} CPU ms/op`])]);
  for (const nodes of [...new Set(starts.map((r) => r.nodes))]) {
    const cells: (string | number)[] = [nodes];
    for (const x of systems) {
      const r = starts.find((y) => y.system === x && y.nodes === nodes);
      cells.push(r ? r.opsPerSec : '', r ? r.p50Ms : '', r ? r.serverCpuMsPerOp : '');
    }
    s.push(cells);
  }
  return `${t.toString()}\nstart-up: one client over the first seconds after a fresh cluster has a leader (not part of the cells above)\n${s.toString()}`;
}
