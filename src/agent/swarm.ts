/**
 * Many agents in one process, each with its own real AgentSync stream (channels are shared a
 * few hundred streams each, as HTTP/2 multiplexes them): the scale tool behind
 * `npm run agents`, the agent fan-out benchmark and the agent-failover chaos scenario.
 */
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { seededRng } from '../util/rng.js';
import { AGENT_CHANNEL_OPTIONS, AgentRunner } from './agent-runner.js';
import { DEFAULT_AGENT_YAML, type AgentYaml } from './agent-yaml.js';

export interface SwarmOptions {
  readonly count: number;
  readonly controllers: readonly string[];
  /** Agent ids are `${prefix}${n}`, n zero-padded. */
  readonly prefix?: string;
  readonly yaml?: AgentYaml;
  readonly credentials?: grpc.ChannelCredentials;
  /** Streams per shared channel; default 200. */
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
  private readonly waiters = new Set<() => void>();
  /** performance.now() when each agent last accepted a version, by agent index. */
  readonly acceptedAt: number[];
  pushes = 0;
  pushBytes = 0;

  constructor(private readonly opts: SwarmOptions) {
    const prefix = opts.prefix ?? 'agent-';
    const width = String(opts.count - 1).length;
    const credentials = opts.credentials ?? grpc.credentials.createInsecure();
    const perChannel = opts.streamsPerChannel ?? 200;
    const slots = Math.max(1, Math.ceil(opts.count / perChannel));
    const logger = opts.logger ?? pino({ level: 'warn' });
    this.acceptedAt = new Array<number>(opts.count).fill(0);
    for (let i = 0; i < opts.count; i++) {
      const slot = i % slots;
      this.agents.push(
        new AgentRunner({
          id: `${prefix}${String(i).padStart(width, '0')}`,
          controllers: opts.controllers,
          credentials,
          yaml: opts.yaml ?? DEFAULT_AGENT_YAML,
          out: null,
          logger,
          rng: seededRng((opts.seed ?? 1) + i),
          channel: (address) => this.channel(address, slot, slots, credentials),
          onAccepted: () => {
            this.acceptedAt[i] = performance.now();
            for (const w of this.waiters) w();
          },
          onPush: (_v, bytes) => {
            this.pushes++;
            this.pushBytes += bytes;
          },
        }),
      );
    }
  }

  start(): void {
    for (const a of this.agents) a.start();
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
    return this.waitUntil(() => this.agents.every((a) => (a.config.version ?? -1) >= version), `every agent at version ${version}`, timeoutMs);
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
      const poll = setInterval(check, 50);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private channel(address: string, slot: number, slots: number, credentials: grpc.ChannelCredentials): grpc.Client {
    let list = this.channels.get(address);
    if (list === undefined) {
      list = Array.from({ length: slots }, () => new grpc.Client(address, credentials, AGENT_CHANNEL_OPTIONS));
      this.channels.set(address, list);
    }
    return list[slot]!;
  }
}
