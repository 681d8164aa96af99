/**
 * Real controllers and agents, each in its own namespace of a NetnsLab, and the samplers that
 * ask every controller, from the host side of the bridge (never faulted), for its `list
 * controllers` and `list agents` answers. Processes are signalled by their own PIDs only (`ip
 * netns exec` execs the program, so the child's PID is the program's) and are killed with the
 * script if it dies first (test/helpers/reaper.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardChild } from '../../test/helpers/reaper.js';
import { MeshClient, type AgentsView } from '../../src/api/mesh-client.js';
import { StatusSampler } from '../status-sampler.js';
import type { NetnsLab } from './lab.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CONTROLLER_JS = path.join(root, 'dist/bin/controller.js');
const AGENT_JS = path.join(root, 'dist/bin/agent.js');

export interface LabClusterOptions {
  readonly lab: NetnsLab;
  readonly dir: string;
  readonly controllers: readonly string[];
  readonly agents: readonly string[];
  readonly firstPort: number;
  readonly baseTimeoutMs: number;
  readonly electionTimeoutMs: number;
  readonly sampleIntervalMs: number;
  readonly now: () => number;
}

export interface AgentSample {
  readonly sampler: string;
  readonly sentMs: number;
  readonly receivedMs: number;
  readonly stale: boolean;
  readonly online: ReadonlyMap<string, boolean>;
  readonly controller: ReadonlyMap<string, string>;
}

interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

export class LabCluster {
  readonly statusSampler: StatusSampler;
  readonly agentSamples: AgentSample[] = [];
  readonly unexpectedExits: string[] = [];
  private readonly procs = new Map<string, Proc>();
  private readonly meshClients = new Map<string, MeshClient>();
  private agentTimer: NodeJS.Timeout | null = null;
  private readonly agentOutstanding = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly o: LabClusterOptions) {
    this.statusSampler = new StatusSampler({
      targets: () => o.controllers,
      endpointOf: (id) => this.endpoint(id),
      intervalMs: o.sampleIntervalMs,
      timeoutMs: 1000,
      now: o.now,
    });
  }

  endpoint(id: string): string {
    return `${this.o.lab.host(id).ip}:${this.o.firstPort + this.o.controllers.indexOf(id)}`;
  }

  logFile(id: string): string {
    return path.join(this.o.dir, 'logs', `${id}.log`);
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.procs].map(([id, p]) => [id, p.child.pid]));
  }

  private writeConfig(): string {
    const yaml = [
      '# Written by chaos/netns: every controller in its own network namespace.',
      'cluster:',
      '  name: netns',
      '  nodes:',
      ...this.o.controllers.map((id) => `    - { id: ${id}, address: "${this.endpoint(id)}" }`),
      'controller:',
      `  data_dir: ${path.join(this.o.dir, 'data')}/\${id}`,
      '  log_level: info',
      '  heartbeat:',
      `    base_timeout: ${this.o.baseTimeoutMs}ms`,
      '    dynamic_adjustment: true',
      `  state_sync_interval: ${Math.max(500, this.o.baseTimeoutMs)}ms`,
      'raft:',
      `  heartbeat_interval: ${Math.round(this.o.electionTimeoutMs / 10)}ms`,
      `  election_timeout: ${this.o.electionTimeoutMs}ms`,
      '',
    ].join('\n');
    const file = path.join(this.o.dir, 'cluster.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  }

  private spawnIn(host: string, argv: readonly string[]): void {
    const log = fs.openSync(this.logFile(host), 'a');
    const cmd = this.o.lab.exec(host, [process.execPath, ...argv]);
    const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    guardChild(child);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.stopping) this.unexpectedExits.push(`${host} exited (code ${code}, signal ${signal}) at ${Math.round(this.o.now())}ms`);
        resolve();
      }),
    );
    this.procs.set(host, { child, exited });
  }

  start(): void {
    fs.mkdirSync(path.join(this.o.dir, 'logs'), { recursive: true });
    const config = this.writeConfig();
    for (const id of this.o.controllers) this.spawnIn(id, [CONTROLLER_JS, '--config', config, '--id', id]);
  }

  startAgents(): void {
    const list = this.o.controllers.map((id) => this.endpoint(id)).join(',');
    for (const a of this.o.agents) this.spawnIn(a, [AGENT_JS, '--controllers', list, '--id', a]);
  }

  /** Resolves once every controller answers, not stale, with every controller online and one leader. */
  async waitHealthy(deadlineMs: number, what: string): Promise<void> {
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      const ok = this.o.controllers.every((id) => {
        const last = [...this.statusSampler.samples].reverse().find((s) => s.sampler === id);
        return last !== undefined && !last.stale && last.receivedMs > this.o.now() - 1000 && last.rows.length === this.o.controllers.length && last.rows.every((r) => r.online) && last.rows.filter((r) => r.leader).length === 1;
      });
      if (ok) return;
      if (performance.now() > deadline) throw new Error(`${what}: the cluster was not healthy on every controller within ${deadlineMs}ms`);
      await sleep(100);
    }
  }

  /** Resolves once every controller lists every agent online. */
  async waitAgentsOnline(deadlineMs: number): Promise<void> {
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      const ok = this.o.controllers.every((id) => {
        const last = [...this.agentSamples].reverse().find((s) => s.sampler === id);
        return last !== undefined && !last.stale && last.receivedMs > this.o.now() - 1000 && this.o.agents.every((a) => last.online.get(a) === true);
      });
      if (ok) return;
      if (performance.now() > deadline) throw new Error(`the agents were not online on every controller within ${deadlineMs}ms`);
      await sleep(100);
    }
  }

  /** The controller most recent non-stale answers say the agent is on. */
  agentController(agent: string): string | null {
    for (let i = this.agentSamples.length - 1; i >= 0; i--) {
      const s = this.agentSamples[i]!;
      if (!s.stale && s.online.get(agent) === true) return s.controller.get(agent) ?? null;
    }
    return null;
  }

  leader(): string | null {
    return this.statusSampler.leader(new Set(this.o.controllers), 1000);
  }

  startSampling(): void {
    this.statusSampler.start();
    this.agentTimer = setInterval(() => this.agentRound(), this.o.sampleIntervalMs);
  }

  private mesh(id: string): MeshClient {
    let c = this.meshClients.get(id);
    if (c === undefined) {
      c = new MeshClient({ endpoints: [this.endpoint(id)], timeoutMs: 1000 });
      this.meshClients.set(id, c);
    }
    return c;
  }

  private agentRound(): void {
    for (const id of this.o.controllers) {
      if (this.agentOutstanding.has(id)) continue;
      this.agentOutstanding.add(id);
      const sentMs = this.o.now();
      const p = this.mesh(id)
        .listAgentsOn(this.endpoint(id))
        .then((view: AgentsView) => {
          this.agentSamples.push({
            sampler: id,
            sentMs,
            receivedMs: this.o.now(),
            stale: view.stale,
            online: new Map(view.agents.map((a) => [a.id, a.online])),
            controller: new Map(view.agents.map((a) => [a.id, a.controller])),
          });
        })
        .catch(() => undefined)
        .finally(() => {
          this.agentOutstanding.delete(id);
          this.pending.delete(p);
        });
      this.pending.add(p);
    }
  }

  /** Stops sampling, then SIGTERM to every process by its PID (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.agentTimer !== null) clearInterval(this.agentTimer);
    await this.statusSampler.stop();
    await Promise.all([...this.pending]);
    for (const c of this.meshClients.values()) c.close();
    await Promise.all(
      [...this.procs.values()].map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        p.child.kill('SIGCONT');
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await p.exited;
        clearTimeout(t);
      }),
    );
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
