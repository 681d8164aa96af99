/**
 * Real `agent` processes for end-to-end tests, tracked by PID (never killed by name, and killed
 * with the test process if it dies first), each with its --out file and log in the cluster's temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeCommand } from '../helpers/node-command.js';
import { SHORT_LIVED_SERVER_NODE_ARGS } from '../helpers/short-lived-servers.js';
import type { ProcessCluster } from '../helpers/process-cluster.js';
import { guardChild } from '../helpers/reaper.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const AGENT_JS = path.join(root, 'dist/bin/agent.js');

export interface AgentProcOptions {
  readonly id: string;
  readonly controllers: string;
  readonly dir: string;
  /** agent.yaml content, if any. */
  readonly yaml?: string;
  readonly admin?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The --out file's name in `dir`; default `${id}.json`. */
  readonly outName?: string;
}

export class AgentProc {
  readonly out: string;
  readonly log: string[] = [];
  child: ChildProcess | null = null;
  exitCode: number | null = null;

  constructor(readonly opts: AgentProcOptions) {
    this.out = path.join(opts.dir, opts.outName ?? `${opts.id}.json`);
  }

  start(): this {
    const args = ['--controllers', this.opts.controllers, '--id', this.opts.id, '--out', this.out, '--log-level', 'debug'];
    if (this.opts.yaml !== undefined) {
      const file = path.join(this.opts.dir, `${this.opts.id}.yaml`);
      fs.writeFileSync(file, this.opts.yaml);
      args.push('--config', file);
    }
    if (this.opts.admin !== undefined) args.push('--admin', this.opts.admin);
    args.push(...(this.opts.extraArgs ?? []));
    const env = { ...process.env, ...this.opts.env };
    const cmd = nodeCommand(AGENT_JS, args, SHORT_LIVED_SERVER_NODE_ARGS, env);
    const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    guardChild(child);
    this.exitCode = null;
    const keep = (d: Buffer): void => {
      this.log.push(d.toString());
      if (this.log.length > 400) this.log.splice(0, this.log.length - 400);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', (code) => {
      this.exitCode = code;
      if (this.child === child) this.child = null;
    });
    this.child = child;
    return this;
  }

  /** The configuration it accepted, from its --out file; null before the first. */
  config(): { version: number; cluster: string; resources: { kind: string; name: string; revision: number }[] } | null {
    try {
      return JSON.parse(fs.readFileSync(this.out, 'utf8')) as { version: number; cluster: string; resources: { kind: string; name: string; revision: number }[] };
    } catch {
      return null;
    }
  }

  version(): number | null {
    return this.config()?.version ?? null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Runs to completion (for refusals at start); resolves with the exit code and output. */
  static run(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      const merged = { ...process.env, ...env };
      const cmd = nodeCommand(AGENT_JS, args, SHORT_LIVED_SERVER_NODE_ARGS, merged);
      const p = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'], env: merged });
      guardChild(p);
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
    });
  }

  tail(): string {
    return this.log.join('').split('\n').slice(-15).join('\n');
  }
}

/**
 * Starts `cluster` and waits for a leader; at teardown, `close` runs, then every agent pushed
 * onto the returned list is killed, then the cluster stops.
 */
export async function startWithAgents(
  t: { teardown(fn: () => unknown): void },
  cluster: ProcessCluster,
  close: () => void = () => undefined,
): Promise<{ readonly agents: AgentProc[]; readonly endpoints: string }> {
  const agents: AgentProc[] = [];
  t.teardown(async () => {
    close();
    await Promise.all(agents.map((a) => a.kill()));
    await cluster.stop();
  });
  cluster.startAll();
  await cluster.waitForLeader();
  return { agents, endpoints: cluster.endpoints() };
}
