/**
 * Real controller processes on loopback for end-to-end tests: a generated YAML file with free
 * ports in a temp dir, child processes tracked by PID (never killed by name, and killed with
 * the test process if it dies before its teardown), and `ctl` invoked as operators invoke it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatusJson } from '../../src/api/answers.js';
import { ControllerClient } from '../../src/api/client.js';
import { channelCredentials } from '../../src/cli/ctl/context.js';
import { freePorts } from './free-ports.js';
import { nodeCommand } from './node-command.js';
import { guardChild } from './reaper.js';
import { waitFor } from './wait-for.js';
import { runToExit, type RunResult } from './run-to-exit.js';
import { SHORT_LIVED_SERVER_NODE_ARGS } from './short-lived-servers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The binaries package.json's "bin" names (bundled: build/bundle-bins.ts). */
export const CONTROLLER_JS = path.join(root, 'dist/bin/controller.js');
export const CTL_JS = path.join(root, 'dist/bin/ctl.js');

export interface ClusterOptions {
  readonly nodes: number;
  /** cluster.name; default e2e. */
  readonly clusterName?: string;
  /** Extra YAML appended under the top level (must not repeat cluster/controller/raft keys). */
  readonly raft?: { heartbeatInterval?: string; electionTimeout?: string; snapshotThreshold?: number; trailingLogs?: number };
  readonly heartbeat?: { baseTimeout?: string; stateSyncInterval?: string };
  /**
   * The controllers' TLS files; cert and key may contain ${id} (a peer certificate per node).
   * With metricsClientCa, /metrics is served over HTTPS to that CA's certificates only; crl is tls.crl.
   */
  readonly tls?: { ca: string; cert: string; key: string; agentCa?: string; metricsClientCa?: string; crl?: string };
  /** What `ctl` and client() use; default `tls` (which then must not contain ${id}). */
  readonly clientTls?: { ca: string; cert: string; key: string };
  /** pino level for the controllers; tests keep debug logs to explain failures. */
  readonly logLevel?: string;
  /** controller.agent_reconnect_timeout (default 72h): agents offline this long are forgotten. */
  readonly agentReconnectTimeout?: string;
  /** controller.quota_bytes (default 256 MiB). */
  readonly quotaBytes?: number;
  /** controller.min_free_disk_bytes (default 64 MiB). */
  readonly minFreeDiskBytes?: number;
  /** controller.max_pending_handshakes (default 1,024). */
  readonly maxPendingHandshakes?: number;
  /** controller.max_streams_per_connection (default 1,024). */
  readonly maxStreamsPerConnection?: number;
  /** Give every node a Prometheus endpoint on a free port. */
  readonly metrics?: boolean;
  /** More top-level YAML (sections other than cluster, controller, raft and tls). */
  readonly extraYaml?: string;
  /** Another build's controller.js (benchmarks compare two builds); default this tree's. */
  readonly controllerJs?: string;
  /** Options for node before the script (e.g. --cpu-prof); default SHORT_LIVED_SERVER_NODE_ARGS. */
  readonly nodeArgs?: readonly string[];
  /** More environment for the controllers (e.g. glibc's MALLOC_* knobs, read only at exec). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What a `ctl` (or `controller` tool) run printed, and its exit code. */
export type CtlResult = RunResult;

export class ProcessCluster {
  readonly procs = new Map<string, ChildProcess>();
  /** One client per node address for status polls (nodes may join later). */
  private readonly statusClients = new Map<string, ControllerClient>();
  readonly logs = new Map<string, string[]>();

  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly addresses: ReadonlyMap<string, string>,
    /** The client TLS files `ctl` and `client()` use; null without TLS. */
    readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | null = null,
    /** Each node's Prometheus address, when asked for. */
    readonly metricsAddresses: ReadonlyMap<string, string> = new Map(),
    private readonly launch: { readonly controllerJs: string; readonly nodeArgs: readonly string[]; readonly env?: Readonly<Record<string, string>> } = { controllerJs: CONTROLLER_JS, nodeArgs: SHORT_LIVED_SERVER_NODE_ARGS },
  ) {}

  static async create(opts: ClusterOptions): Promise<ProcessCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-e2e-'));
    const ports = await freePorts(opts.metrics ? 2 * opts.nodes : opts.nodes);
    const ids = ports.slice(0, opts.nodes).map((_, i) => `c${i + 1}`);
    const addresses = new Map(ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
    const metrics = new Map(opts.metrics ? ids.map((id, i) => [id, `127.0.0.1:${ports[opts.nodes + i]}`]) : []);
    const raft = opts.raft ?? {};
    const hb = opts.heartbeat ?? {};
    const yaml = [
      'cluster:',
      `  name: ${opts.clusterName ?? 'e2e'}`,
      '  nodes:',
      ...ids.map((id) => `    - { id: ${id}, address: "${addresses.get(id)}"${metrics.has(id) ? `, metrics: "${metrics.get(id)}"` : ''} }`),
      'controller:',
      `  data_dir: ${dir}/data/\${id}`,
      `  log_level: ${opts.logLevel ?? 'debug'}`,
      '  heartbeat:',
      `    base_timeout: ${hb.baseTimeout ?? '1s'}`,
      '    dynamic_adjustment: true',
      `  state_sync_interval: ${hb.stateSyncInterval ?? '2s'}`,
      ...(opts.agentReconnectTimeout !== undefined ? [`  agent_reconnect_timeout: ${opts.agentReconnectTimeout}`] : []),
      ...(opts.quotaBytes !== undefined ? [`  quota_bytes: ${opts.quotaBytes}`] : []),
      ...(opts.minFreeDiskBytes !== undefined ? [`  min_free_disk_bytes: ${opts.minFreeDiskBytes}`] : []),
      ...(opts.maxPendingHandshakes !== undefined ? [`  max_pending_handshakes: ${opts.maxPendingHandshakes}`] : []),
      ...(opts.maxStreamsPerConnection !== undefined ? [`  max_streams_per_connection: ${opts.maxStreamsPerConnection}`] : []),
      'raft:',
      `  heartbeat_interval: ${raft.heartbeatInterval ?? '50ms'}`,
      `  election_timeout: ${raft.electionTimeout ?? '500ms'}`,
      `  snapshot_threshold: ${raft.snapshotThreshold ?? 10000}`,
      ...(raft.trailingLogs !== undefined ? [`  trailing_logs: ${raft.trailingLogs}`] : []),
      ...(opts.tls ? ['tls:', `  ca: ${opts.tls.ca}`, `  cert: ${opts.tls.cert}`, `  key: ${opts.tls.key}`, ...(opts.tls.agentCa !== undefined ? [`  agent_ca: ${opts.tls.agentCa}`] : []), ...(opts.tls.metricsClientCa !== undefined ? ['  metrics: true', `  metrics_client_ca: ${opts.tls.metricsClientCa}`] : []), ...(opts.tls.crl !== undefined ? [`  crl: ${opts.tls.crl}`] : [])] : []),
      ...(opts.extraYaml !== undefined ? [opts.extraYaml.trimEnd()] : []),
      '',
    ].join('\n');
    const configFile = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(configFile, yaml);
    const launch = { controllerJs: opts.controllerJs ?? CONTROLLER_JS, nodeArgs: opts.nodeArgs ?? SHORT_LIVED_SERVER_NODE_ARGS, env: opts.env ?? {} };
    return new ProcessCluster(dir, configFile, addresses, opts.clientTls ?? opts.tls ?? null, metrics, launch);
  }

  get ids(): string[] {
    return [...this.addresses.keys()];
  }

  endpoints(ids: readonly string[] = this.ids): string {
    return ids.map((id) => this.addresses.get(id)!).join(',');
  }

  /** Starts node `id`; `configFile` replaces the cluster's file for this process only. */
  start(id: string, extraArgs: readonly string[] = [], configFile: string = this.configFile): ChildProcess {
    if (this.procs.has(id)) throw new Error(`${id} is already running`);
    const cmd = nodeCommand(this.launch.controllerJs, ['--config', configFile, '--id', id, ...extraArgs], this.launch.nodeArgs);
    const child = spawn(cmd.command, cmd.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.launch.env },
    });
    guardChild(child);
    const log = this.logs.get(id) ?? [];
    this.logs.set(id, log);
    // Keep a bounded tail of each node's log to explain a failure.
    const keep = (d: Buffer): void => {
      log.push(d.toString());
      if (log.length > 400) log.splice(0, log.length - 400);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.procs.set(id, child);
    child.on('exit', () => {
      if (this.procs.get(id) === child) this.procs.delete(id);
    });
    return child;
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  /** Sends a signal to the process we started for `id` (by its PID) and waits for it to exit. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.procs.get(id);
    if (!child) throw new Error(`${id} is not running`);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** Sends `signal` to the process we started for `id` (by its PID), without waiting for anything. */
  signal(id: string, signal: NodeJS.Signals): void {
    const child = this.procs.get(id);
    if (!child) throw new Error(`${id} is not running`);
    child.kill(signal);
  }

  pid(id: string): number | null {
    return this.procs.get(id)?.pid ?? null;
  }

  pause(id: string): void {
    this.procs.get(id)?.kill('SIGSTOP');
  }

  resume(id: string): void {
    this.procs.get(id)?.kill('SIGCONT');
  }

  /** The client library `ctl` uses, for bulk operations (a process per call would be slow). */
  /**
   * What an operator does before `member add` (docs/deploy.md): adds `id` on a fresh port to the
   * shared YAML file. Returns its address; the node is started later with start(id).
   */
  async addToFile(id: string): Promise<string> {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const yaml = fs.readFileSync(this.configFile, 'utf8').replace(/( {2}nodes:\n(?: {4}- .*\n)+)/, `$1    - { id: ${id}, address: "${address}" }\n`);
    fs.writeFileSync(this.configFile, yaml);
    (this.addresses as Map<string, string>).set(id, address);
    return address;
  }

  client(ids: readonly string[] = this.ids, timeoutMs = 10000): ControllerClient {
    return new ControllerClient({ endpoints: this.endpoints(ids).split(','), timeoutMs, credentials: channelCredentials(this.tls ?? {}) });
  }

  /** Runs `ctl` as an operator would; with TLS, its files come from $CTL_TLS_* unless `env` overrides. */
  ctl(args: readonly string[], endpoints = this.endpoints(), timeoutMs = 20000, env: Readonly<Record<string, string>> = {}): Promise<CtlResult> {
    const tlsEnv = this.tls ? { CTL_TLS_CA: this.tls.ca, CTL_TLS_CERT: this.tls.cert, CTL_TLS_KEY: this.tls.key } : {};
    const merged: Record<string, string | undefined> = { ...process.env, ...tlsEnv, ...env };
    for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k]; // '' unsets
    return runToExit(CTL_JS, ['--endpoints', endpoints, ...args], `ctl ${args.join(' ')}`, timeoutMs, merged);
  }

  /**
   * One node's Raft status through the client library (a ctl process per poll costs a CPU
   * second on a busy machine); null when it does not answer. `ctl status` has its own tests.
   */
  async status(id: string): Promise<StatusJson | null> {
    const address = this.addresses.get(id);
    if (address === undefined) return null;
    let client = this.statusClients.get(address);
    if (client === undefined) {
      client = this.client([id], 3000);
      this.statusClients.set(address, client);
    }
    return client.statusOn(address).catch(() => null);
  }

  /**
   * Waits until every running node agrees on one leader, and returns it. The deadline only bounds
   * a failure: every node must be up and know the leader, and five controllers started at once
   * took 3-8 s on an idle host, 13.5 s beside eight busy processes (load 15), past 20 s at load 20.
   */
  async waitForLeader(among: readonly string[] = [...this.procs.keys()], timeoutMs = 60_000): Promise<string> {
    let leader = '';
    await this.explainFailure(waitFor(
      async () => {
        const sts = await Promise.all(among.map((id) => this.status(id)));
        const leaders = new Set(sts.map((s) => s?.leader ?? ''));
        leader = [...leaders][0] ?? '';
        return leaders.size === 1 && leader !== '' && among.includes(leader);
      },
      `one leader among ${among.join(',')}`,
      timeoutMs,
    ));
    return leader;
  }

  /** SIGTERM every process we started, then SIGKILL what is left; removes the temp dir. */
  async stop(): Promise<void> {
    for (const c of this.statusClients.values()) c.close();
    this.statusClients.clear();
    const running = [...this.procs.entries()];
    await Promise.all(
      running.map(async ([, child]) => {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Adds which nodes are running and their last log lines to a failure. */
  async explainFailure<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      const state = this.ids.map((id) => `${id}: ${this.procs.has(id) ? `running (pid ${this.pid(id)})` : 'not running'}\n${this.dumpLogs(id).split('\n').slice(-8).join('\n')}`);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${state.join('\n')}`, { cause: err });
    }
  }

  /** The last `lines` log lines of every member, each under its id: for a failure that a leadership change may explain. */
  logTails(lines: number): string {
    return this.ids.map((id) => `${id}:\n${this.dumpLogs(id).split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  dumpLogs(id: string): string {
    return (this.logs.get(id) ?? []).join('').split('\n').slice(-40).join('\n');
  }
}
