/**
 * Many agents in one process, each with its own real AgentSync stream (connections are shared
 * by a few hundred streams each, as HTTP/2 multiplexes them): the scale tool behind
 * `npm run agents`, the agent fan-out benchmark and the agent-failover chaos scenario.
 */
import pino, { type Logger } from 'pino';
import { seededRng } from '../util/rng.js';
import { H2Connection, INSECURE, type StreamSecurity } from '../transport/h2-stream/index.js';
import { AGENT_MAX_RECEIVE_BYTES, AgentRunner } from './agent-runner.js';
import { DEFAULT_AGENT_YAML, type AgentYaml } from './agent-yaml.js';
import type { ConfigJson } from './config-state.js';

export interface SwarmOptions {
  readonly count: number;
  readonly controllers: readonly string[];
  /** Agent ids are `${prefix}${n}`, n zero-padded. */
  readonly prefix?: string;
  readonly yaml?: AgentYaml;
  /** agent.yaml of agent i (lazy agents with their own dependencies, say); default: `yaml` for all. */
  readonly yamlFor?: (i: number) => AgentYaml;
  readonly security?: StreamSecurity;
  /**
   * Streams per connection; default 200. A controller admits controller.max_streams_per_connection
   * streams on one connection (1,024 by default) and holds back the rest for good.
   */
  readonly streamsPerChannel?: number;
  readonly logger?: Logger;
  /** Seeds each agent's back-off jitter (agent i uses seed + i). */
  readonly seed?: number;
}

export interface SwarmStats {
  readonly agents: number;
  readonly connected: number;
  /** Agents per accepted version ('none' before the first). */
  readonly versions: Readonly<Record<string, number>>;
  /** Agents per controller they are connected to. */
  readonly controllers: Readonly<Record<string, number>>;
  readonly pushes: number;
  readonly pushBytes: number;
}

export class Swarm {
  readonly agents: AgentRunner[] = [];
  private readonly connections = new Map<string, H2Connection[]>();
  /** performance.now() when each agent last accepted a version, by agent index. */
  readonly acceptedAt: number[] = [];
  /** Pushes and push bytes received, by agent index. */
  readonly pushesOf: number[] = [];
  readonly bytesOf: number[] = [];
  pushes = 0;
  pushBytes = 0;
  /** Configurations accepted, by all agents together. */
  accepted = 0;
  /** Pushes of a version the receiving agent already held. */
  redundantPushes = 0;
  redundantBytes = 0;

  private started = 0;
  private readonly security: StreamSecurity;
  private readonly logger: Logger;

  /** `opts.count` agents, not started yet (start()); grow() adds more. */
  constructor(private readonly opts: SwarmOptions) {
    this.security = opts.security ?? INSECURE;
    this.logger = opts.logger ?? pino({ level: 'warn' });
    this.grow(opts.count);
  }

  /** Adds `count` more agents (started by the next start()). Ids are `${prefix}${n}`, n zero-padded to 5 digits. */
  grow(count: number): void {
    for (let k = 0; k < count; k++) {
      this.acceptedAt.push(0);
      this.pushesOf.push(0);
      this.bytesOf.push(0);
      this.agents.push(this.make(this.agents.length));
    }
  }

  /** Stops agent i (its process is gone, as far as the cluster can tell). */
  async stopOne(i: number): Promise<void> {
    await this.agents[i]!.stop();
  }

  /** Starts agent i again as a new process (a new boot) that kept what it had accepted. */
  restartOne(i: number): void {
    const old = this.agents[i]!;
    const fresh = this.make(i, old.config.json());
    this.agents[i] = fresh;
    fresh.start();
  }

  private make(i: number, initial: ConfigJson | null = null): AgentRunner {
    const perChannel = this.opts.streamsPerChannel ?? 200;
    // Agents fill a connection per controller before opening the next: one per `perChannel` streams.
    const slot = Math.floor(i / perChannel);
    const agent: AgentRunner = new AgentRunner({
      id: `${this.opts.prefix ?? 'agent-'}${String(i).padStart(5, '0')}`,
      controllers: this.opts.controllers,
      security: this.security,
      yaml: this.opts.yamlFor?.(i) ?? this.opts.yaml ?? DEFAULT_AGENT_YAML,
      out: null,
      logger: this.logger,
      rng: seededRng((this.opts.seed ?? 1) + i),
      initial: initial !== null && initial.version > 0 ? initial : null,
      connection: (address) => this.connection(address, slot),
      onAccepted: () => {
        this.acceptedAt[i] = performance.now();
        this.accepted++;
      },
      onPush: (version, bytes) => {
        this.pushes++;
        this.pushBytes += bytes;
        this.pushesOf[i]!++;
        this.bytesOf[i]! += bytes;
        // A version the agent already holds, sent again: the waste the protocol exists to avoid.
        if (version <= (agent.config.version ?? -1)) {
          this.redundantPushes++;
          this.redundantBytes += bytes;
        }
      },
    });
    return agent;
  }

  /** Starts the agents not started yet. */
  start(): void {
    for (; this.started < this.agents.length; this.started++) this.agents[this.started]!.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop()));
    for (const list of this.connections.values()) for (const c of list) c.close();
    this.connections.clear();
  }

  stats(): SwarmStats {
    const versions: Record<string, number> = {};
    const controllers: Record<string, number> = {};
    let connected = 0;
    for (const a of this.agents) {
      const s = a.status();
      const v = s.version === null ? 'none' : String(s.version);
      versions[v] = (versions[v] ?? 0) + 1;
      if (s.connected) {
        connected++;
        controllers[s.controller!] = (controllers[s.controller!] ?? 0) + 1;
      }
    }
    return { agents: this.agents.length, connected, versions, controllers, pushes: this.pushes, pushBytes: this.pushBytes };
  }

  /** Resolves when every agent holds `version` or later; rejects after `timeoutMs`. */
  waitForVersion(version: number, timeoutMs: number): Promise<void> {
    // Each poll looks only at the agents still behind: a fan-out costs O(n), not O(n) per accept.
    const behind = new Set(this.agents);
    return this.waitUntil(
      () => {
        for (const a of behind) if ((a.config.version ?? -1) >= version) behind.delete(a);
        return behind.size === 0;
      },
      `every agent at version ${version}`,
      timeoutMs,
    );
  }

  waitUntil(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (cond()) return resolve();
      const check = (): void => {
        if (!cond()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what} (${JSON.stringify(this.stats())})`));
      }, timeoutMs);
      const poll = setInterval(check, 5);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
      };
    });
  }

  private connection(address: string, slot: number): H2Connection {
    let list = this.connections.get(address);
    if (list === undefined) this.connections.set(address, (list = []));
    while (list.length <= slot) list.push(new H2Connection(address, this.security, AGENT_MAX_RECEIVE_BYTES));
    return list[slot]!;
  }
}
