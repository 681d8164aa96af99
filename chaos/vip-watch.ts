/**
 * The services side of a chaos run (scenario vip-churn): agents that publish the services they
 * host (each its own and one shared by several), restarted one after another so each re-publishes
 * its whole, unchanged set, while an operator creates services and deletes some, and the faults
 * kill leaders. A sampler reads the services from every running controller. Held against:
 *
 * - duplicate VIPs: two services holding one address in any answer (safety);
 * - VIP changes of live services: a service seen with two addresses (safety; services here are
 *   never deleted and re-created under the same name);
 * - early reuse: an address seen on one service and later on another (every address of the run is
 *   within its quarantine of 1 h) (safety);
 * - revisions from identical re-publishes: the publishes of the agents that advanced the cluster
 *   revision (`publishRevisions` of `list agents`), counted from when every agent's first publish
 *   had committed; every re-publish is identical, so the count must be zero (safety). How many of
 *   them reached the log at all (`publishWrites`) is reported beside it.
 */
import { MeshClient } from '../src/api/mesh-client.js';
import { DEFAULT_AGENT_YAML } from '../src/agent/agent-yaml.js';
import { Swarm } from '../src/agent/swarm.js';
import type { ServiceResource } from '../src/statemachine/index.js';
import type { Rng } from '../src/util/rng.js';

export interface VipWatchOptions {
  readonly count: number;
  /** Controller id -> its client address. */
  readonly endpoints: ReadonlyMap<string, string>;
  /** Controllers to sample now (running and not paused). */
  readonly targets: () => readonly string[];
  readonly rng: Rng;
  readonly seed: number;
  readonly event: (text: string) => void;
}

export interface VipAnalysis {
  readonly agents: number;
  /** Services seen, in all. */
  readonly services: number;
  readonly samples: number;
  readonly duplicateVips: number;
  readonly vipChanges: number;
  readonly vipReused: number;
  /** Agent restarts: each an identical re-publish of its whole set. */
  readonly republishes: number;
  /** Publishes that reached the log during the churn, and those that advanced the revision. */
  readonly publishWrites: number;
  readonly publishRevisions: number;
  readonly created: number;
  readonly deleted: number;
  /** Whether every agent was online and SYNCED, and every hosted service had a VIP, at the end. */
  readonly settledAtEnd: boolean;
  readonly examples: readonly string[];
}

const SHARED = 4;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export function hostedBy(i: number): string[] {
  return [`host-${String(i).padStart(3, '0')}`, `shared-${i % SHARED}`];
}

export class VipWatch {
  readonly swarm: Swarm;
  private readonly clients = new Map<string, MeshClient>();
  private readonly admin: MeshClient;
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** Name -> every VIP it was seen with. */
  private readonly seen = new Map<string, Set<string>>();
  /** VIP -> the first service seen holding it. */
  private readonly holders = new Map<string, string>();
  private readonly duplicates = new Set<string>();
  private readonly reused = new Set<string>();
  private readonly examples: string[] = [];
  private samples = 0;
  private republishes = 0;
  private created = 0;
  private deleted = 0;
  private base: { writes: number; revisions: number } | null = null;

  constructor(private readonly o: VipWatchOptions) {
    this.swarm = new Swarm({
      count: o.count,
      controllers: [...o.endpoints.values()],
      prefix: 'edge-',
      seed: o.seed,
      yamlFor: (i) => ({ ...DEFAULT_AGENT_YAML, hosts: hostedBy(i).map((name) => ({ name, spec: { protocol: 'http', ports: [name.startsWith('shared') ? 80 : 8000 + i] }, labels: {} })) }),
    });
    this.admin = new MeshClient({ endpoints: [...o.endpoints.values()], timeoutMs: 3000 });
  }

  /** Starts the agents; resolves once every hosted service is published and every agent SYNCED. */
  async start(deadlineMs: number): Promise<void> {
    this.swarm.start();
    const deadline = performance.now() + deadlineMs;
    while (!(await this.settled())) {
      if (performance.now() > deadline) throw new Error(`the agents' services were not all published and SYNCED within ${deadlineMs}ms`);
      await sleep(200);
    }
    this.base = await this.publishCounts();
  }

  run(): void {
    this.loops = [this.sampleLoop(), this.churn(), this.operator()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.swarm.stop();
    for (const c of this.clients.values()) c.close();
    this.admin.close();
  }

  /** Stops the churn, waits for every agent to settle, takes a last sample and judges the run. */
  async finish(deadlineMs: number): Promise<VipAnalysis> {
    this.stopped = true;
    await Promise.all(this.loops);
    const deadline = performance.now() + deadlineMs;
    let settled = await this.settled();
    while (!settled && performance.now() < deadline) {
      await sleep(200);
      settled = await this.settled();
    }
    await this.sampleAll();
    const end = await this.publishCounts().catch(() => null);
    const base = this.base ?? { writes: 0, revisions: 0 };
    let changes = 0;
    for (const [name, vips] of this.seen) {
      if (vips.size <= 1) continue;
      changes++;
      this.example(`${name} seen with ${[...vips].join(' and ')}`);
    }
    return {
      agents: this.o.count,
      services: this.seen.size,
      samples: this.samples,
      duplicateVips: this.duplicates.size,
      vipChanges: changes,
      vipReused: this.reused.size,
      republishes: this.republishes,
      publishWrites: end === null ? -1 : end.writes - base.writes,
      publishRevisions: end === null ? -1 : end.revisions - base.revisions,
      created: this.created,
      deleted: this.deleted,
      settledAtEnd: settled,
      examples: this.examples,
    };
  }

  private client(id: string): MeshClient {
    let c = this.clients.get(id);
    if (c === undefined) {
      c = new MeshClient({ endpoints: [this.o.endpoints.get(id)!], timeoutMs: 1000 });
      this.clients.set(id, c);
    }
    return c;
  }

  private async settled(): Promise<boolean> {
    const ids = this.swarm.agents.map((_, i) => `edge-${String(i).padStart(5, '0')}`);
    const rows = (await this.admin.listAgents().catch(() => null))?.agents ?? [];
    const synced = ids.every((id) => rows.some((r) => r.id === id && r.online && r.state === 'SYNCED'));
    if (!synced) return false;
    const services = new Map(((await this.admin.get('service').catch(() => [])) as ServiceResource[]).map((s) => [s.name, s]));
    return this.swarm.agents.every((_, i) => hostedBy(i).every((n) => services.get(n)?.status.vip !== undefined));
  }

  private async publishCounts(): Promise<{ writes: number; revisions: number }> {
    const rows = (await this.admin.listAgents()).agents;
    return { writes: rows.reduce((s, r) => s + r.publishWrites, 0), revisions: rows.reduce((s, r) => s + r.publishRevisions, 0) };
  }

  private async sampleLoop(): Promise<void> {
    while (!this.stopped) {
      await this.sampleAll();
      await sleep(250);
    }
  }

  private async sampleAll(): Promise<void> {
    await Promise.all(
      this.o.targets().map(async (id) => {
        const list = await this.client(id).get('service', '', { serializable: true }).catch(() => null);
        if (list === null) return;
        this.samples++;
        this.judge(id, list as readonly ServiceResource[]);
      }),
    );
  }

  /** One controller's answer: every address held once, every service with the address it always had. */
  private judge(controller: string, services: readonly ServiceResource[]): void {
    const byVip = new Map<string, string>();
    for (const s of services) {
      const vip = s.status.vip;
      if (vip === undefined) continue;
      const other = byVip.get(vip);
      if (other !== undefined && !this.duplicates.has(vip)) {
        this.duplicates.add(vip);
        this.example(`${controller}: ${other} and ${s.name} both hold ${vip}`);
      }
      byVip.set(vip, s.name);
      let vips = this.seen.get(s.name);
      if (vips === undefined) this.seen.set(s.name, (vips = new Set()));
      vips.add(vip);
      const first = this.holders.get(vip);
      if (first === undefined) this.holders.set(vip, s.name);
      else if (first !== s.name && !this.reused.has(vip)) {
        this.reused.add(vip);
        this.example(`${controller}: ${vip} held by ${first} earlier, now by ${s.name} (within its quarantine)`);
      }
    }
  }

  /** One agent at a time is restarted: a new process with the same agent.yaml re-publishes everything. */
  private async churn(): Promise<void> {
    while (!this.stopped) {
      await sleep(300 + this.o.rng.int(0, 500));
      if (this.stopped) return;
      const i = this.o.rng.int(0, this.swarm.agents.length);
      await this.swarm.stopOne(i);
      this.swarm.restartOne(i);
      this.republishes++;
    }
  }

  /** An operator creates a service every 1.5 s and deletes every third one it created a while later. */
  private async operator(): Promise<void> {
    const made: string[] = [];
    for (let n = 0; !this.stopped; n++) {
      await sleep(1500);
      const name = `op-${String(n).padStart(4, '0')}`;
      try {
        await this.admin.apply([{ kind: 'service', name, spec: { protocol: 'tcp', ports: [9000 + (n % 1000)] }, labels: {} }]);
        this.created++;
        made.push(name);
      } catch {
        // No leader right now (or the outcome is unknown): the samples say whether it exists.
      }
      if (n % 3 === 2 && made.length > 1) {
        const victim = made.shift()!;
        try {
          await this.admin.delete('service', victim);
          this.deleted++;
          this.o.event(`service ${victim} deleted`);
        } catch {
          // As above.
        }
      }
    }
  }

  private example(text: string): void {
    if (this.examples.length < 20) this.examples.push(text);
  }
}
