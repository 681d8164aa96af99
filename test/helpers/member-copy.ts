/**
 * The careless copy of the adversarial tests: a member's data dir copied while it runs and
 * started with the same `address` but another `listen`. It is stopped by its own PID at
 * teardown.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { freePorts } from './free-ports.js';
import { nodeCommand } from './node-command.js';
import { SHORT_LIVED_SERVER_NODE_ARGS } from './short-lived-servers.js';
import { CONTROLLER_JS, type ProcessCluster } from './process-cluster.js';
import { guardChild } from './reaper.js';

export interface MemberCopy {
  /** Where the copy listens (its clients' endpoint). */
  readonly endpoint: string;
  /** What it has logged so far. */
  log(): string;
  /** SIGKILLs it and waits for its exit. */
  kill(): Promise<void>;
}

export async function startMemberCopy(t: Test, cluster: ProcessCluster, member: string): Promise<MemberCopy> {
  const copyDir = path.join(cluster.dir, 'copy');
  fs.cpSync(path.join(cluster.dir, 'data', member), path.join(copyDir, 'data', member), { recursive: true });
  const [listen] = await freePorts(1);
  const yaml = fs
    .readFileSync(cluster.configFile, 'utf8')
    .replace(`${cluster.dir}/data/`, `${copyDir}/data/`)
    .replace(new RegExp(`(- \\{ id: ${member}, address: "[^"]+")`), `$1, listen: "127.0.0.1:${listen}"`);
  t.match(yaml, `listen: "127.0.0.1:${listen}"`, 'the copy listens elsewhere');
  const copyFile = path.join(copyDir, 'cluster.yaml');
  fs.writeFileSync(copyFile, yaml);
  const cmd = nodeCommand(CONTROLLER_JS, ['--config', copyFile, '--id', member], SHORT_LIVED_SERVER_NODE_ARGS);
  const copy = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  guardChild(copy);
  let log = '';
  copy.stdout.on('data', (d: Buffer) => (log += d.toString()));
  copy.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => copy.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (copy.exitCode === null && copy.signalCode === null) copy.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  return { endpoint: `127.0.0.1:${listen}`, log: () => log, kill };
}
