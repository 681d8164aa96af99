/**
 * `npm start`: runs every node of a cluster file as a child process with prefixed logs, waits
 * for a leader, prints `ctl list controllers`, and stops them all on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadClusterConfig } from '../config/index.js';

// Compiled to dist/src/cli/; the binaries it starts are the bundled ones under dist/bin/.
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin');
const file = process.argv[2] ?? 'config/local-3.yaml';

function main(): void {
  let cluster;
  try {
    cluster = loadClusterConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`start: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const endpoints = cluster.nodes.map((n) => n.address).join(',');
  const children = new Map<string, ChildProcess>();
  const width = Math.max(...cluster.nodes.map((n) => n.id.length));
  for (const n of cluster.nodes) {
    const child = spawn(process.execPath, [path.join(bin, 'controller.js'), '--config', file, '--id', n.id], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(n.id, child);
    const prefix = `[${n.id.padEnd(width)}] `;
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
    }
    child.on('exit', (code, signal) => {
      children.delete(n.id);
      process.stdout.write(`${prefix}exited (${signal ?? code})\n`);
      if (children.size === 0) process.exit(stopping ? 0 : 1);
    });
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping all controllers...\n');
    for (const c of children.values()) c.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // Ask ctl until a leader is there, then show the cluster once.
  const ctl = path.join(bin, 'ctl.js');
  const deadline = Date.now() + 30_000;
  const poll = (): void => {
    if (stopping) return;
    const p = spawn(process.execPath, [ctl, '--endpoints', endpoints, 'health'], { stdio: 'ignore' });
    p.on('exit', (code) => {
      if (code === 0) {
        spawn(process.execPath, [ctl, '--endpoints', endpoints, 'list', 'controllers'], { stdio: 'inherit' }).on('exit', () =>
          process.stdout.write(`cluster is up; ctl endpoints: ${endpoints}. Ctrl-C stops it.\n`),
        );
      } else if (Date.now() < deadline) {
        setTimeout(poll, 300);
      } else {
        process.stdout.write('no healthy leader after 30s; see the logs above\n');
      }
    });
  };
  setTimeout(poll, 300);
}

main();
