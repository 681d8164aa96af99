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
 * - the controllers' RSS with the agents connected, not lazy and lazy.
 *
 * The agents run in this process (src/agent/swarm.ts), each a real AgentSync stream.
 */
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

export async function oursLazy(c: OursCluster, cfg: LazyBenchConfig): Promise<LazyResult> {
  const endpoints = c.cluster.ids.map((id) => c.cluster.addresses.get(id)!);
  const mesh = new MeshClient({ endpoints, timeoutMs: 20_000 });
  const swarms: Swarm[] = [];
  try {
    cfg.log(`lazy: ${cfg.services} services and ${cfg.services} routes in one apply...`);
    const { revision } = await mesh.apply(syntheticMesh(cfg.services));

    // -- not lazy: the whole mesh to every agent ----------------------------------------------------
    const full = new Swarm({ count: cfg.agents, controllers: endpoints, prefix: 'full-', seed: 14 });
    swarms.push(full);
    full.start();
    await full.waitForVersion(revision, 120_000);
    await sleep(2000);
    const rssFull = c.rssMB();
    const resourcesFull = mean(full.agents.map((a) => a.config.size));
    const bytesFull = full.pushBytes / cfg.agents;
    const changed = name(7, cfg.services);
    const fullBefore = [...full.pushesOf];
    const v2 = (await mesh.apply([{ kind: 'service', name: changed, spec: { protocol: 'http', ports: [17_007] }, labels: { team: 't7' } }])).revision;
    await full.waitForVersion(v2, 60_000);
    await sleep(1000);
    const pushedFull = full.pushesOf.filter((p, i) => p > fullBefore[i]!).length;
    cfg.log(`lazy: not lazy: ${round(resourcesFull, 1)} resources and ${Math.round(bytesFull)} bytes per agent; one change pushed to ${pushedFull} agents; controllers' RSS ${rssFull.map(Math.round).join(', ')} MB`);
    await full.stop();
    swarms.pop();
    await sleep(2000);

    // -- lazy: each agent its 5 services and the routes between them -----------------------------------
    const lazy = new Swarm({
      count: cfg.agents,
      controllers: endpoints,
      prefix: 'lazy-',
      seed: 15,
      yamlFor: (i) => ({ ...DEFAULT_AGENT_YAML, lazy: true, dependencies: dependenciesOf(i, cfg) }),
    });
    swarms.push(lazy);
    lazy.start();
    // Its services, and a route between each consecutive pair of them.
    const expected = 2 * cfg.dependencies - 1;
    await lazy.waitUntil(() => lazy.agents.every((a) => a.config.size === expected), `every lazy agent holding its ${expected} resources`, 120_000);
    await sleep(2000);
    const rssLazy = c.rssMB();
    const resourcesLazy = mean(lazy.agents.map((a) => a.config.size));
    const bytesLazy = lazy.pushBytes / cfg.agents;
    const dependents = lazy.agents.filter((_, i) => dependenciesOf(i, cfg).includes(changed)).length;
    const lazyBefore = [...lazy.pushesOf];
    await mesh.apply([{ kind: 'service', name: changed, spec: { protocol: 'http', ports: [27_007] }, labels: { team: 't7' } }]);
    const atNewPort = (i: number): boolean => {
      const r = lazy.agents[i]!.config.get(`service/${changed}`);
      return r?.kind === 'service' && r.spec.ports[0] === 27_007;
    };
    await lazy.waitUntil(() => lazy.agents.every((_, i) => !dependenciesOf(i, cfg).includes(changed) || atNewPort(i)), 'the dependents at the new port', 60_000);
    await sleep(1000);
    const pushedLazy = lazy.pushesOf.filter((p, i) => p > lazyBefore[i]!).length;
    cfg.log(`lazy: lazy: ${round(resourcesLazy, 1)} resources and ${Math.round(bytesLazy)} bytes per agent (${round(bytesFull / bytesLazy, 1)}x fewer bytes); one change pushed to ${pushedLazy} agents (${dependents} depend on it); controllers' RSS ${rssLazy.map(Math.round).join(', ')} MB`);

    // -- /resolve miss -> ACK of the new dependency -----------------------------------------------------------
    const samples: number[] = [];
    for (let k = 0; k < cfg.samples; k++) {
      const i = (k * 7) % cfg.agents;
      const agent = lazy.agents[i]!;
      const target = name(i * cfg.dependencies + cfg.services / 2 + k, cfg.services);
      if (agent.config.get(`service/${target}`) !== null) continue;
      const t0 = performance.now();
      agent.resolve(target);
      await lazy.waitUntil(() => agent.config.get(`service/${target}`) !== null, `${target} at agent ${i}`, 10_000);
      samples.push(lazy.acceptedAt[i]! - t0);
      await sleep(50);
    }
    const result: LazyResult = {
      services: cfg.services,
      agents: cfg.agents,
      dependencies: cfg.dependencies,
      resourcesPerAgentFull: round(resourcesFull, 1),
      resourcesPerAgentLazy: round(resourcesLazy, 1),
      bytesPerAgentFull: Math.round(bytesFull),
      bytesPerAgentLazy: Math.round(bytesLazy),
      bytesRatio: round(bytesFull / bytesLazy, 1),
      agentsPushedFull: pushedFull,
      agentsPushedLazy: pushedLazy,
      dependents,
      resolveSamplesMs: samples.map((x) => round(x, 2)),
      resolveP50Ms: round(median(samples), 2),
      resolveP99Ms: round(samplePercentile(samples, 99), 2),
      resolveMaxMs: round(Math.max(...samples), 2),
      rssMBFull: round(mean(rssFull), 0),
      rssMBLazy: round(mean(rssLazy), 0),
    };
    cfg.log(`lazy: /resolve miss -> ACK of the new dependency p50 ${result.resolveP50Ms} ms, p99 ${result.resolveP99Ms} ms, max ${result.resolveMaxMs} ms over ${samples.length} misses`);
    return result;
  } finally {
    mesh.close();
    await Promise.all(swarms.map((s) => s.stop()));
  }
}
