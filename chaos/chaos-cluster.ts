/**
 * Real controller processes on loopback with a fault proxy in front of each: node X binds
 * `listen` (127.0.0.1:Lx) and is known to peers by `address` (127.0.0.1:Ax), where its proxy
 * listens. The harness's own clients dial `listen` directly, so they are never faulted (they
 * still reach an isolated node, and must be told it cannot serve).
 *
 * Ports come from the OS (free-ports helper), the run lives in its own temp dir, processes
 * are signalled by their own PIDs only (and killed with the harness if it dies first), and
 * every exit we did not cause is recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../test/helpers/free-ports.js';
import { guardChild } from '../test/helpers/reaper.js';
import { FaultProxy } from './fault-proxy.js';
import { LinkTable } from './link-faults.js';
import { BatchedAttribution } from './batched-attribution.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CONTROLLER_JS = path.join(root, 'dist/bin/controller.js');

export interface ChaosClusterOptions {
  readonly dir: string;
  readonly nodes: number;
  readonly baseTimeoutMs: number;
  readonly dynamicAdjustment: boolean;
  readonly stateSyncIntervalMs: number;
  readonly raftHeartbeatMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotThreshold: number;
  readonly logLevel: string;
  /** Uniform [0, 1) for the proxies' delays. */
  readonly random: () => number;
  /** Milliseconds since the start of the run, for the exit records. */
  readonly now: () => number;
}

export interface UnexpectedExit {
  readonly id: string;
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: string | null;
}

interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Set before we signal it: its exit is then no surprise. */
  expectExit: boolean;
}

export class ChaosCluster {
  readonly links = new LinkTable();
  readonly proxies = new Map<string, FaultProxy>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** performance.now() of the first bytes a node sent, since it was last started, that a peer's proxy passed on. */
  readonly firstHeard = new Map<string, number>();
  private readonly procs = new Map<string, Proc>();
  private readonly paused = new Set<string>();
  /** Which node opened a connection a proxy accepted: one lookup per batch of connections. */
  private readonly attribution = new BatchedAttribution({
    nodes: () => {
      const pids = new Map<number, string>();
      for (const [id, p] of this.procs) if (p.child.pid !== undefined) pids.set(p.child.pid, id);
      return pids;
    },
  });

  private constructor(
    private readonly opts: ChaosClusterOptions,
    readonly ids: readonly string[],
    private readonly addressPorts: ReadonlyMap<string, number>,
    private readonly listenPorts: ReadonlyMap<string, number>,
    readonly configFile: string,
  ) {}

  static async create(opts: ChaosClusterOptions): Promise<ChaosCluster> {
    fs.mkdirSync(path.join(opts.dir, 'logs'), { recursive: true });
    const ports = await freePorts(opts.nodes * 2);
    const ids = Array.from({ length: opts.nodes }, (_, i) => `c${i + 1}`);
    const addressPorts = new Map(ids.map((id, i) => [id, ports[i]!]));
    const listenPorts = new Map(ids.map((id, i) => [id, ports[opts.nodes + i]!]));
    const yaml = [
      '# Written by the chaos harness: each node binds `listen`; its fault proxy listens on `address`.',
      'cluster:',
      '  name: chaos',
      '  nodes:',
      ...ids.map((id) => `    - { id: ${id}, address: "127.0.0.1:${addressPorts.get(id)}", listen: "127.0.0.1:${listenPorts.get(id)}" }`),
      'controller:',
      `  data_dir: ${path.join(opts.dir, 'data')}/\${id}`,
      `  log_level: ${opts.logLevel}`,
      '  heartbeat:',
      `    base_timeout: ${opts.baseTimeoutMs}ms`,
      `    dynamic_adjustment: ${opts.dynamicAdjustment}`,
      `  state_sync_interval: ${opts.stateSyncIntervalMs}ms`,
      'raft:',
      `  heartbeat_interval: ${opts.raftHeartbeatMs}ms`,
      `  election_timeout: ${opts.electionTimeoutMs}ms`,
      `  snapshot_threshold: ${opts.snapshotThreshold}`,
      '',
    ].join('\n');
    const configFile = path.join(opts.dir, 'cluster.yaml');
    fs.writeFileSync(configFile, yaml);
    const cluster = new ChaosCluster(opts, ids, addressPorts, listenPorts, configFile);
    for (const id of ids) {
      const proxy = await FaultProxy.start({
        node: id,
        listenHost: '127.0.0.1',
        listenPort: addressPorts.get(id)!,
        targetHost: '127.0.0.1',
        targetPort: listenPorts.get(id)!,
        links: cluster.links,
        identify: (socket) => cluster.identify(socket),
        random: opts.random,
        onForward: (source) => {
          if (!cluster.firstHeard.has(source)) cluster.firstHeard.set(source, performance.now());
        },
      });
      cluster.proxies.set(id, proxy);
    }
    return cluster;
  }

  /** What peers dial (the proxy). */
  address(id: string): string {
    return `127.0.0.1:${this.addressPorts.get(id)}`;
  }

  /** What the node binds, and what the harness's clients dial. */
  listen(id: string): string {
    return `127.0.0.1:${this.listenPorts.get(id)}`;
  }

  dataDir(id: string): string {
    return path.join(this.opts.dir, 'data', id);
  }

  logFile(id: string): string {
    return path.join(this.opts.dir, 'logs', `${id}.log`);
  }

  /** Which node opened a connection that a proxy accepted (null: not one of ours). */
  private identify(socket: net.Socket): Promise<string | null> {
    if (socket.remotePort === undefined || socket.localPort === undefined) return Promise.resolve(null);
    return this.attribution.identify({ clientPort: socket.remotePort, serverPort: socket.localPort });
  }

  isStarted(id: string): boolean {
    return this.procs.has(id);
  }

  isPaused(id: string): boolean {
    return this.paused.has(id);
  }

  pid(id: string): number | null {
    return this.procs.get(id)?.child.pid ?? null;
  }

  start(id: string, join = false): void {
    if (this.procs.has(id)) throw new Error(`${id} is already running`);
    this.firstHeard.delete(id);
    const log = fs.openSync(this.logFile(id), 'a');
    const args = [CONTROLLER_JS, '--config', this.configFile, '--id', id, ...(join ? ['--join'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    guardChild(child);
    fs.closeSync(log);
    let resolveExit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (resolveExit = resolve));
    const proc: Proc = { child, exited, expectExit: false };
    this.procs.set(id, proc);
    child.on('exit', (code, signal) => {
      if (!proc.expectExit) this.unexpectedExits.push({ id, atMs: Math.round(this.opts.now()), code, signal });
      if (this.procs.get(id) === proc) this.procs.delete(id);
      this.paused.delete(id);
      resolveExit();
    });
  }

  /** kill -9 and wait for the exit. */
  async kill(id: string): Promise<void> {
    const proc = this.procs.get(id);
    if (!proc) return;
    proc.expectExit = true;
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  pause(id: string): void {
    const proc = this.procs.get(id);
    if (!proc) return;
    proc.child.kill('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: string): void {
    const proc = this.procs.get(id);
    if (!proc) return;
    proc.child.kill('SIGCONT');
    this.paused.delete(id);
  }

  /** Deletes a stopped node's data (a replaced member starts empty). */
  wipe(id: string): void {
    if (this.procs.has(id)) throw new Error(`${id} is running; stop it before wiping its data`);
    fs.rmSync(this.dataDir(id), { recursive: true, force: true });
  }

  /** SIGCONT and SIGTERM to every process we started, SIGKILL after 5 s; closes the proxies. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async (proc) => {
        proc.expectExit = true;
        proc.child.kill('SIGCONT');
        proc.child.kill('SIGTERM');
        const t = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
        await proc.exited;
        clearTimeout(t);
      }),
    );
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }

  /** The last lines of a node's log, to explain a failure. */
  tail(id: string, lines = 30): string {
    try {
      return fs.readFileSync(this.logFile(id), 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '';
    }
  }
}
