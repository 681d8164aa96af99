/**
 * Many agents in one process, each with its own real AgentSync stream (channels, each its own
 * connection, are shared by a few hundred streams each, as HTTP/2 multiplexes them): the scale tool behind
 * `npm run agents`, the agent fan-out benchmark and the agent-failover chaos scenario.
 */
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { seededRng } from '../util/rng.js';
import { AGENT_CHANNEL_OPTIONS, AgentRunner } from './agent-runner.js';
import { DEFAULT_AGENT_YAML, type AgentYaml } from './agent-yaml.js';
import type { ConfigJson } from './config-state.js';

/**
 * The agents' channel options, each channel with a subchannel pool of its own: grpc-js otherwise
 * shares one connection among every channel of a target and options, and a controller admits
 * controller.max_streams_per_connection streams on one connection (1,024 by default), holding
 * back the rest for good.
 */
export const SWARM_CHANNEL_OPTIONS: grpc.ChannelOptions = { ...AGENT_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 };

export interface SwarmOptions {
  readonly count: number;
  readonly controllers: readonly string[];
  /** Agent ids are `${prefix}${n}`, n zero-padded. */
  readonly prefix?: string;
  readonly yaml?: AgentYaml;
  /** agent.yaml of agent i (lazy agents with their own dependencies, say); default: `yaml` for all. */
  readonly yamlFor?: (i: number) => AgentYaml;
  readonly credentials?: grpc.ChannelCredentials;
  /** Streams per channel, each channel its own connection; default 200. */
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
  private readonly channels = new Map<string, grpc.Client[]>();
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
  private readonly credentials: grpc.ChannelCredentials;
  private readonly logger: Logger;

  /** `opts.count` agents, not started yet (start()); grow() adds more. */
  constructor(private readonly opts: SwarmOptions) {
    this.credentials = opts.credentials ?? grpc.credentials.createInsecure();
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
    // Agents fill a channel per controller before opening the next: one HTTP/2 connection per `perChannel` streams.
    const slot = Math.floor(i / perChannel);
    const agent: AgentRunner = new AgentRunner({
      id: `${this.opts.prefix ?? 'agent-'}${String(i).padStart(5, '0')}`,
      controllers: this.opts.controllers,
      credentials: this.credentials,
      yaml: this.opts.yamlFor?.(i) ?? this.opts.yaml ?? DEFAULT_AGENT_YAML,
      out: null,
      logger: this.logger,
      rng: seededRng((this.opts.seed ?? 1) + i),
      initial: initial !== null && initial.version > 0 ? initial : null,
      channel: (address) => this.channel(address, slot),
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
    for (const list of this.channels.values()) for (const c of list) c.close();
    this.channels.clear();
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

  private channel(address: string, slot: number): grpc.Client {
    let list = this.channels.get(address);
    if (list === undefined) this.channels.set(address, (list = []));
    while (list.length <= slot) list.push(new grpc.Client(address, this.credentials, SWARM_CHANNEL_OPTIONS));
    return list[slot]!;
  }
}
