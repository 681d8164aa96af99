/**
 * Agent fan-out, ours beside etcd's watch (issue 13, "Performance"):
 *
 * - fan-out: 1,000 agents over 3 controllers (each a real AgentSync stream: src/agent/swarm.ts)
 *   against 1,000 watchers over 3 etcd members (each a real gRPC Watch stream, 200 streams per
 *   connection as our agents have; on grpc-js, what a Node.js etcd client is built on, or with
 *   --watch-client h2 on the small client our agents use), both on the same number of worker threads (fleet.ts). One change (`apply` of one
 *   service / one put) at a time; the time from sending it to the last agent's ACK (the last
 *   watcher's event), p50/p99/max over the changes.
 * - failover: SIGKILL of a controller (a follower) serving about a third of the agents: the
 *   time until all of them are SYNCED again on the survivors, the configuration bytes sent to
 *   agents that were already current (target zero), and how many agents were ever shown
 *   offline by `list agents` or the audit trail (target zero). For etcd: SIGKILL of a follower
 *   serving a third of the watchers, the time until all of them watch again from the revision
 *   they had, and the events delivered twice.
 * - memory per connected agent: the controllers' (members') settled RSS (settledRssMB) with all
 *   the agents connected minus with half of them, divided by the other half.
 */
import type { WatchClient } from './etcd-watchers.js';
import { MeshClient } from '../src/api/mesh-client.js';
import { waitFor } from '../test/helpers/wait-for.js';
import type { EtcdCluster } from './etcd.js';
import { Fleet, now } from './fleet.js';
import { CpuMeter } from './proc.js';
import type { OursCluster } from './ours.js';
import { median, round, samplePercentile } from './stats.js';

export interface FanoutResult {
  readonly agents: number;
  readonly changes: number;
  readonly samplesMs: readonly number[];
  /** From the change's send to the first agent (watcher) at its version, the median over the changes. */
  readonly firstP50Ms: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Controller (member) RSS growth per connected agent (watcher), KB. */
  readonly kbPerAgent: number;
  readonly rssMB: number;
  /**
   * CPU per change over the timed changes, pauses between them included: the three
   * controllers' (members') together, and this process's (the fleet's threads and the driver).
   * With fewer cores than busy threads (two here) the fan-out waits behind this CPU.
   */
  readonly serverCpuMsPerChange: number;
  readonly fleetCpuMsPerChange: number;
}

export interface AgentFailoverResult {
  /** SIGKILL to every agent (watcher) current again on the survivors. */
  readonly recoverMs: number;
  readonly moved: number;
  /** Configuration bytes (ours) / event bytes (etcd) sent to agents that were already current. */
  readonly bytesResent: number;
  /** Agents `list agents` or the audit trail ever showed offline (ours; etcd has no such notion: 0). */
  readonly shownOffline: number;
}

export interface AgentBenchConfig {
  readonly agents: number;
  /** Threads the agents (watchers) run on, the same for both systems. */
  readonly threads: number;
  /** The gRPC client etcd's watchers use. */
  readonly watchClient: WatchClient;
  readonly changes: number;
  /** Changes made and waited for, untimed, before the timed ones (both systems alike). */
  readonly warmupChanges: number;
  readonly log: (s: string) => void;
}

function summary(samples: readonly number[]): Pick<FanoutResult, 'p50Ms' | 'p99Ms' | 'maxMs'> {
  return { p50Ms: round(median(samples), 2), p99Ms: round(samplePercentile(samples, 99), 2), maxMs: round(Math.max(...samples), 2) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Times `changes` changes one at a time, the same way for both systems: `change(i)` makes one
 * and resolves with its revision; each sample runs from the change's send to the last agent
 * (watcher) at that revision. Also the CPU the servers (`pids`) and this process spent per change.
 */
async function timeChanges(
  changes: number,
  warmup: number,
  fleet: Fleet,
  pids: readonly number[],
  change: (i: number) => Promise<number>,
): Promise<{ samples: number[]; firstP50Ms: number; serverCpuMsPerChange: number; fleetCpuMsPerChange: number }> {
  // The same untimed changes first, as the load rows' warm-up: a fresh controller compiles its
  // fan-out path over its first changes (etcd is compiled ahead of time). After 20, V8 was still
  // compiling a quarter to a third of the controllers' CPU in the timed window; after 200 (the
  // default, about 30 s) the steady state a long-running server lives in is what is timed.
  for (let i = 0; i < warmup; i++) {
    await fleet.waitAllAt(await change(i), 30_000);
    await sleep(100);
  }
  const samples: number[] = [];
  const firsts: number[] = [];
  const meter = new CpuMeter(pids);
  for (let i = warmup; i < warmup + changes; i++) {
    const t0 = now();
    const revision = await change(i);
    const times = await fleet.waitFanout(revision, 30_000);
    samples.push(times.last - t0);
    firsts.push(times.first - t0);
    await sleep(100);
  }
  const cpu = meter.stop();
  return { samples, firstP50Ms: round(median(firsts), 2), serverCpuMsPerChange: round(cpu.serverMs / changes, 1), fleetCpuMsPerChange: round(cpu.clientMs / changes, 1) };
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** RSS samples per member, SETTLE_SAMPLES of them SETTLE_GAP_MS apart, with the fleet idle. */
const SETTLE_SAMPLES = 5;
const SETTLE_GAP_MS = 500;

/**
 * Each member's RSS once the fleet is idle: the lowest of several samples. One sample may catch
 * a member between a burst of garbage (a connect storm, a report) and its collection; the
 * lowest is the closest RSS gets to what the member holds. The same for both systems.
 */
export async function settledRssMB(read: () => number[]): Promise<number[]> {
  let low = read();
  for (let i = 1; i < SETTLE_SAMPLES; i++) {
    await sleep(SETTLE_GAP_MS);
    low = read().map((x, m) => Math.min(x, low[m] ?? x));
  }
  return low;
}

// ---- ours -------------------------------------------------------------------------------------------

export async function oursAgents(c: OursCluster, cfg: AgentBenchConfig): Promise<{ fanout: FanoutResult; failover: AgentFailoverResult }> {
  const endpoints = c.cluster.ids.map((id) => c.cluster.addresses.get(id)!);
  const leader = await c.leader();
  const mesh = new MeshClient({ endpoints: [c.cluster.addresses.get(leader)!, ...endpoints.filter((e) => e !== c.cluster.addresses.get(leader))], timeoutMs: 10_000 });
  const service = (port: number) => [{ kind: 'service' as const, name: 'bench-web', spec: { protocol: 'http', ports: [port] }, labels: {} }];
  const fleet = new Fleet(cfg.threads, { kind: 'ours', endpoints, seed: 13 });
  try {
    let { revision } = await mesh.apply(service(1));
    const synced = async (n: number): Promise<void> => {
      await fleet.waitAllAt(revision, 120_000);
      await waitFor(async () => (await mesh.listAgents()).agents.filter((a) => a.state === 'SYNCED' && a.online).length === n, `${n} agents SYNCED in list agents`, 60_000);
      await sleep(3000);
    };
    // Memory per agent is the growth from half the agents to all of them: the first agents also
    // pay one-time costs (heap expansion, compiled code, channels) that the next ones do not.
    const half = Math.floor(cfg.agents / 2);
    cfg.log(`ours: ${half} agents (${cfg.threads} threads) connecting to ${endpoints.length} controllers...`);
    fleet.grow(half);
    await synced(half);
    const rssHalf = await settledRssMB(() => c.rssMB());
    fleet.grow(cfg.agents - half);
    await synced(cfg.agents);
    const rssAfter = await settledRssMB(() => c.rssMB());
    const kbPerAgent = round(((sum(rssAfter) - sum(rssHalf)) * 1024) / (cfg.agents - half), 1);
    cfg.log(`ours: all ${cfg.agents} SYNCED; controllers' RSS ${rssHalf.map((x) => Math.round(x))} -> ${rssAfter.map((x) => Math.round(x))} MB from ${half} to ${cfg.agents} agents (${kbPerAgent} KB per agent); by controller ${JSON.stringify((await fleet.stats()).by)}`);

    const { samples, ...cpu } = await timeChanges(cfg.changes, cfg.warmupChanges, fleet, c.pids(), async (i) => {
      ({ revision } = await mesh.apply(service(1000 + i)));
      return revision;
    });
    const fanout: FanoutResult = { agents: cfg.agents, changes: cfg.changes, samplesMs: samples.map((x) => round(x, 2)), ...summary(samples), kbPerAgent, rssMB: round(sum(rssAfter) / rssAfter.length, 0), ...cpu };
    cfg.log(`ours fan-out: change -> first ACK p50 ${fanout.firstP50Ms} ms, last ACK p50 ${fanout.p50Ms} ms, p99 ${fanout.p99Ms} ms, max ${fanout.maxMs} ms over ${cfg.changes} changes; CPU per change: controllers ${cpu.serverCpuMsPerChange} ms, fleet ${cpu.fleetCpuMsPerChange} ms`);
    cfg.log(`ours: controllers' RSS after the ${cfg.changes} changes ${(await settledRssMB(() => c.rssMB())).map((x) => Math.round(x))} MB`);

    // Failover: a follower serving about a third of the agents.
    const byController = (await fleet.stats()).by;
    const currentLeader = await c.leader();
    const victim = Object.entries(byController).filter(([id]) => id !== currentLeader).sort((a, b) => b[1] - a[1])[0]![0];
    const moved = byController[victim] ?? 0;
    const survivors = c.cluster.ids.filter((id) => id !== victim);
    const watcher = new MeshClient({ endpoints: survivors.map((id) => c.cluster.addresses.get(id)!), timeoutMs: 2000 });
    const bytes0 = (await fleet.stats()).bytes;
    const shownOffline = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const id of survivors) {
          const view = await watcher.listAgentsOn(c.cluster.addresses.get(id)!).catch(() => null);
          for (const a of view?.agents ?? []) if (!a.online) shownOffline.add(a.id);
        }
        await sleep(100);
      }
    })();
    cfg.log(`ours failover: SIGKILL of ${victim} (a follower serving ${moved} agents)...`);
    const t0 = performance.now();
    await c.cluster.kill(victim, 'SIGKILL');
    await waitFor(async () => {
      const s = await fleet.stats();
      return s.connected === cfg.agents && (s.by[victim] ?? 0) === 0;
    }, 'every agent connected to a survivor', 60_000);
    await waitFor(async () => {
      const list = (await watcher.listAgents().catch(() => null))?.agents ?? [];
      return list.length === cfg.agents && list.every((a) => a.state === 'SYNCED' && a.online && a.controller !== victim);
    }, 'every agent SYNCED on the survivors', 60_000);
    const recoverMs = performance.now() - t0;
    polling = false;
    await poller;
    for (const id of survivors) {
      const trail = await c.cluster.ctl(['audit', '-o', 'json', '--since', '10m'], c.cluster.endpoints([id]));
      for (const line of trail.stdout.split('\n')) {
        const m = /"type":"agent\.status","subject":"([^"]+)","from":"online","to":"offline"/.exec(line);
        if (m) shownOffline.add(m[1]!);
      }
    }
    watcher.close();
    const failover: AgentFailoverResult = { recoverMs: round(recoverMs, 0), moved, bytesResent: (await fleet.stats()).bytes - bytes0, shownOffline: shownOffline.size };
    cfg.log(`ours failover: all SYNCED again after ${failover.recoverMs} ms; ${failover.bytesResent} configuration bytes re-sent; ${failover.shownOffline} agents shown offline`);
    c.cluster.start(victim);
    return { fanout, failover };
  } finally {
    mesh.close();
    await fleet.stop();
  }
}

// ---- etcd -------------------------------------------------------------------------------------------

export async function etcdWatchers(c: EtcdCluster, cfg: AgentBenchConfig): Promise<{ fanout: FanoutResult; failover: AgentFailoverResult }> {
  const addresses = c.clientPorts().map((p) => `127.0.0.1:${p}`);
  const key = 'bench/agents/config';
  let revision = await c.put(key, 'v-1');
  const fleet = new Fleet(cfg.threads, { kind: 'etcd', endpoints: addresses, key, seed: 13, watchClient: cfg.watchClient });
  try {
    const half = Math.floor(cfg.agents / 2);
    const watching = async (n: number): Promise<void> => {
      await fleet.waitAllAt(revision, 120_000);
      await waitFor(async () => (await fleet.stats()).connected === n, `${n} watchers created`, 60_000);
      await sleep(3000);
    };
    cfg.log(`etcd: ${half} watchers (${cfg.threads} threads) connecting to ${addresses.length} members...`);
    fleet.grow(half, revision);
    await watching(half);
    const rssHalf = await settledRssMB(() => c.rssMB());
    fleet.grow(cfg.agents - half, revision);
    await watching(cfg.agents);
    const rssAfter = await settledRssMB(() => c.rssMB());
    const kbPerAgent = round(((sum(rssAfter) - sum(rssHalf)) * 1024) / (cfg.agents - half), 1);
    cfg.log(`etcd: all ${cfg.agents} watching; members' RSS ${rssHalf.map((x) => Math.round(x))} -> ${rssAfter.map((x) => Math.round(x))} MB from ${half} to ${cfg.agents} watchers (${kbPerAgent} KB per watcher)`);
    const { samples, ...cpu } = await timeChanges(cfg.changes, cfg.warmupChanges, fleet, c.pids(), async (i) => {
      revision = await c.put(key, `v${1000 + i}`);
      return revision;
    });
    const fanout: FanoutResult = { agents: cfg.agents, changes: cfg.changes, samplesMs: samples.map((x) => round(x, 2)), ...summary(samples), kbPerAgent, rssMB: round(sum(rssAfter) / rssAfter.length, 0), ...cpu };
    cfg.log(`etcd fan-out: put -> first watcher's event p50 ${fanout.firstP50Ms} ms, last p50 ${fanout.p50Ms} ms, p99 ${fanout.p99Ms} ms, max ${fanout.maxMs} ms over ${cfg.changes} changes; CPU per change: members ${cpu.serverCpuMsPerChange} ms, watchers ${cpu.fleetCpuMsPerChange} ms`);
    cfg.log(`etcd: members' RSS after the ${cfg.changes} changes ${(await settledRssMB(() => c.rssMB())).map((x) => Math.round(x))} MB`);

    const leader = await c.leaderIndex();
    const victim = [0, 1, 2].find((m) => m !== leader)!;
    const moved = (await fleet.stats()).by[addresses[victim]!] ?? 0;
    const dup0 = (await fleet.stats()).bytes;
    cfg.log(`etcd failover: SIGKILL of member ${victim + 1} (a follower serving ${moved} watchers)...`);
    const t0 = performance.now();
    await c.killMember(victim);
    await waitFor(async () => {
      const s = await fleet.stats();
      return s.connected === cfg.agents && (s.by[addresses[victim]!] ?? 0) === 0;
    }, 'every watcher watching on a survivor', 60_000);
    const recoverMs = performance.now() - t0;
    const failover: AgentFailoverResult = { recoverMs: round(recoverMs, 0), moved, bytesResent: (await fleet.stats()).bytes - dup0, shownOffline: 0 };
    cfg.log(`etcd failover: all watching again after ${failover.recoverMs} ms; ${failover.bytesResent} event bytes delivered twice`);
    await c.restartMember(victim);
    return { fanout, failover };
  } finally {
    await fleet.stop();
  }
}
