/**
 * Lazy configuration (issue 14, "Performance"): a synthetic mesh of 500 services (and 500 routes,
 * a ring: svc-i -> svc-i+1) and 200 agents over 3 controllers, each agent depending on 5
 * consecutive services (so each service has 2 dependents). Measured:
 *
 * - resources and configuration bytes pushed per agent, 200 agents that are not lazy (the whole
 *   mesh) against 200 lazy ones (their 5 services and the 4 routes between them);
 * - how many agents one service change pushes to: every one when not lazy, only its dependents
 *   when lazy;
 * - the time from a /resolve miss (AgentRunner.resolve, as GET /resolve/NAME runs it) to the
 *   agent's ACK of the configuration holding the new dependency, p50/p99/max;
 * - the controllers' RSS with the agents connected, not lazy and lazy, and the agents' own heap
 *   (in this process, after a full GC, per agent): the sidecar memory lazyxds reports.
 *
 * The agents run in this process (src/agent/swarm.ts), each a real AgentSync stream.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { MeshClient } from '../src/api/mesh-client.js';
import { Swarm } from '../src/agent/swarm.js';
import { DEFAULT_AGENT_YAML } from '../src/agent/agent-yaml.js';
import type { ResourceInput } from '../src/statemachine/index.js';
import type { OursCluster } from './ours.js';
import { median, round, samplePercentile } from './stats.js';

export interface LazyBenchConfig {
  readonly services: number;
  readonly agents: number;
  readonly dependencies: number;
  /** /resolve misses timed. */
  readonly samples: number;
  readonly log: (s: string) => void;
}

export interface LazyResult {
  readonly services: number;
  readonly agents: number;
  readonly dependencies: number;
  readonly resourcesPerAgentFull: number;
  readonly resourcesPerAgentLazy: number;
  readonly bytesPerAgentFull: number;
  readonly bytesPerAgentLazy: number;
  /** Full bytes / lazy bytes per agent (aim >= 20). */
  readonly bytesRatio: number;
  readonly agentsPushedFull: number;
  readonly agentsPushedLazy: number;
  /** Agents that depend on the changed service. */
  readonly dependents: number;
  readonly resolveSamplesMs: readonly number[];
  readonly resolveP50Ms: number;
  readonly resolveP99Ms: number;
  readonly resolveMaxMs: number;
  readonly rssMBFull: number;
  readonly rssMBLazy: number;
  /** Heap of the agents (streams and configurations), KB per agent. */
  readonly agentKBFull: number;
  readonly agentKBLazy: number;
}

/** A full GC, so heap figures count what is live. */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function heapMB(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const name = (i: number, n: number): string => `svc-${String(((i % n) + n) % n).padStart(3, '0')}`;

export function syntheticMesh(services: number, port = 8000): ResourceInput[] {
  const out: ResourceInput[] = [];
  for (let i = 0; i < services; i++) out.push({ kind: 'service', name: name(i, services), spec: { protocol: 'http', ports: [port + i] }, labels: { team: `t${i % 10}` } });
  for (let i = 0; i < services; i++) out.push({ kind: 'route', name: `${name(i, services)}-next`, spec: { from: name(i, services), to: name(i + 1, services) }, labels: {} });
  return out;
}

/** Agent i depends on `deps` consecutive services from 5i: each service has agents * deps / services dependents. */
function dependenciesOf(i: number, cfg: LazyBenchConfig): string[] {
  return Array.from({ length: cfg.dependencies }, (_, k) => name(i * cfg.dependencies + k, cfg.services)).sort();
}

/** What one phase (agents not lazy, or lazy) measures on its own fresh cluster. */
interface Phase {
  readonly resources: number;
  readonly bytes: number;
  readonly pushed: number;
  readonly rss: readonly number[];
  readonly agentKB: number;
}

const CHANGED = 7;

/**
 * One phase on a fresh cluster (so the controllers' RSS of one phase is not the high-water mark
 * of the other): the mesh, 200 agents, one service change; lazy agents also time /resolve misses.
 */
async function phase(c: OursCluster, lazyAgents: boolean, cfg: LazyBenchConfig, samples: number[]): Promise<Phase> {
  const endpoints = c.cluster.ids.map((id) => c.cluster.addresses.get(id)!);
  const mesh = new MeshClient({ endpoints, timeoutMs: 20_000 });
  const heapBefore = heapMB();
  const swarm = new Swarm({
    count: cfg.agents,
    controllers: endpoints,
    prefix: lazyAgents ? 'lazy-' : 'full-',
    seed: 14,
    ...(lazyAgents ? { yamlFor: (i: number) => ({ ...DEFAULT_AGENT_YAML, lazy: true, dependencies: dependenciesOf(i, cfg) }) } : {}),
  });
  const tag = lazyAgents ? 'lazy' : 'not lazy';
  try {
    cfg.log(`lazy (${tag}): ${cfg.services} services and ${cfg.services} routes in one apply, ${cfg.agents} agents...`);
    const { revision } = await mesh.apply(syntheticMesh(cfg.services));
    swarm.start();
    // Lazy: its services and a route between each consecutive pair of them.
    const expected = lazyAgents ? 2 * cfg.dependencies - 1 : 2 * cfg.services;
    await swarm.waitUntil(() => swarm.agents.every((a) => (a.config.version ?? -1) >= (lazyAgents ? 0 : revision) && a.config.size === expected), `every agent holding its ${expected} resources`, 120_000);
    await sleep(2000);
    const rss = c.rssMB();
    const agentKB = ((heapMB() - heapBefore) * 1024) / cfg.agents;
    const resources = mean(swarm.agents.map((a) => a.config.size));
    const bytes = swarm.pushBytes / cfg.agents;
    const changed = name(CHANGED, cfg.services);
    const before = [...swarm.pushesOf];
    await mesh.apply([{ kind: 'service', name: changed, spec: { protocol: 'http', ports: [17_007] }, labels: { team: 't7' } }]);
    const atNewPort = (i: number): boolean => {
      const r = swarm.agents[i]!.config.get(`service/${changed}`);
      return r?.kind === 'service' && r.spec.ports[0] === 17_007;
    };
    const holds = (i: number): boolean => !lazyAgents || dependenciesOf(i, cfg).includes(changed);
    await swarm.waitUntil(() => swarm.agents.every((_, i) => !holds(i) || atNewPort(i)), 'the agents holding it at the new port', 60_000);
    await sleep(1000);
    const pushed = swarm.pushesOf.filter((p, i) => p > before[i]!).length;
    cfg.log(`lazy (${tag}): ${round(resources, 1)} resources and ${Math.round(bytes)} bytes per agent, ${round(agentKB, 1)} KB of agent heap each; one change pushed to ${pushed} agents; controllers' RSS ${rss.map(Math.round).join(', ')} MB`);
    if (lazyAgents) {
      // /resolve miss -> ACK of the configuration holding the new dependency.
      for (let k = 0; k < cfg.samples; k++) {
        const i = (k * 7) % cfg.agents;
        const agent = swarm.agents[i]!;
        const target = name(i * cfg.dependencies + cfg.services / 2 + k, cfg.services);
        if (agent.config.get(`service/${target}`) !== null) continue;
        const t0 = performance.now();
        agent.resolve(target);
        await swarm.waitUntil(() => agent.config.get(`service/${target}`) !== null, `${target} at agent ${i}`, 10_000);
        samples.push(swarm.acceptedAt[i]! - t0);
        await sleep(50);
      }
    }
    return { resources, bytes, pushed, rss, agentKB };
  } finally {
    mesh.close();
    await swarm.stop();
  }
}

export async function oursLazy(start: () => Promise<OursCluster>, cfg: LazyBenchConfig): Promise<LazyResult> {
  const run = async (lazyAgents: boolean, samples: number[]): Promise<Phase> => {
    const c = await start();
    try {
      return await phase(c, lazyAgents, cfg, samples);
    } finally {
      await c.stop();
    }
  };
  const samples: number[] = [];
  const full = await run(false, []);
  const lazy = await run(true, samples);
  const dependents = Array.from({ length: cfg.agents }, (_, i) => i).filter((i) => dependenciesOf(i, cfg).includes(name(CHANGED, cfg.services))).length;
  const result: LazyResult = {
    services: cfg.services,
    agents: cfg.agents,
    dependencies: cfg.dependencies,
    resourcesPerAgentFull: round(full.resources, 1),
    resourcesPerAgentLazy: round(lazy.resources, 1),
    bytesPerAgentFull: Math.round(full.bytes),
    bytesPerAgentLazy: Math.round(lazy.bytes),
    bytesRatio: round(full.bytes / lazy.bytes, 1),
    agentsPushedFull: full.pushed,
    agentsPushedLazy: lazy.pushed,
    dependents,
    resolveSamplesMs: samples.map((x) => round(x, 2)),
    resolveP50Ms: round(median(samples), 2),
    resolveP99Ms: round(samplePercentile(samples, 99), 2),
    resolveMaxMs: round(Math.max(...samples), 2),
    rssMBFull: round(mean(full.rss), 0),
    rssMBLazy: round(mean(lazy.rss), 0),
    agentKBFull: round(full.agentKB, 1),
    agentKBLazy: round(lazy.agentKB, 1),
  };
  cfg.log(`lazy: /resolve miss -> ACK of the new dependency p50 ${result.resolveP50Ms} ms, p99 ${result.resolveP99Ms} ms, max ${result.resolveMaxMs} ms over ${samples.length} misses`);
  return result;
}
