/**
 * `ctl audit --follow | head -1` and `ctl watch KEY | head -1`: ctl exits (0) once head has
 * exited, not at the next event after it (attack-operator round 15: an idle follow ran on for
 * as long as nothing happened). src/cli/output-closed.ts.
 */
import { execFile, spawn } from 'node:child_process';
import readline from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { nodeCommand } from '../helpers/node-command.js';
import { startFake } from './fake-controller.js';

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/ctl.js');

const EVENT = { time: '2026-11-23T10:00:00.000Z', node: 'c1', type: 'member.status', subject: 'c3', from: 'online', to: 'offline', reason: 'heartbeat timeout 2230ms' };

const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** Runs `ctl ARGS | head -1` in bash; resolves with what head printed, ctl's exit code and how long it all took. */
function throughHead(args: readonly string[]): Promise<{ line: string; ctlCode: string; tookMs: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CTL_ENDPOINTS'];
  const cmd = nodeCommand(CTL, args, [], env);
  const script = `${[cmd.command, ...cmd.args].map(quote).join(' ')} | head -1; echo "ctl=\${PIPESTATUS[0]}"`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { env, timeout: 20_000 }, (err, stdout) => {
      if (err !== null) {
        reject(new Error(`ctl ${args.join(' ')} | head -1 did not end: ${err.message}`));
        return;
      }
      const lines = stdout.split('\n');
      resolve({ line: lines[0] ?? '', ctlCode: lines.find((l) => l.startsWith('ctl='))?.slice(4) ?? '', tookMs: performance.now() - started });
    });
  });
}

void t.test('audit --follow | head -1: ctl exits 0 once head has, with no further event', async (t) => {
  // One event, then the stream stays open and silent, as an idle cluster's does.
  const fake = await startFake({ audit: (_req, call) => void call.write(EVENT) });
  t.teardown(() => fake.stop());
  const run = await throughHead(['--endpoints', fake.address, 'audit', '--follow', '-o', 'json']);
  t.match(JSON.parse(run.line), { type: 'member.status', subject: 'c3' });
  t.equal(run.ctlCode, '0');
  t.ok(run.tookMs < 10_000, `ended in ${Math.round(run.tookMs)}ms`);
});

void t.test('without a pipe that closes (a listing), nothing changes', async (t) => {
  const fake = await startFake({
    audit: (_req, call) => {
      call.write(EVENT);
      call.end();
    },
  });
  t.teardown(() => fake.stop());
  const run = await throughHead(['--endpoints', fake.address, 'audit', '-o', 'json']);
  t.equal(run.ctlCode, '0');
  t.match(JSON.parse(run.line), { subject: 'c3' });
});

void t.test('a pipe whose reader stays: ctl follows on, event after event, until stopped', async (t) => {
  // The watch must not mistake a live pipe for a closed one. ctl writes into a real pipe (bash's
  // process substitution, to `cat`), the second event is sent IDLE_MS after the first came
  // through `cat`, and ctl must still be there for it.
  const IDLE_MS = 1_500;
  let follow: grpc.ServerWritableStream<unknown, unknown> | null = null;
  const fake = await startFake({
    audit: (_req, call) => {
      follow = call;
      call.write(EVENT);
    },
  });
  t.teardown(() => fake.stop());
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CTL_ENDPOINTS'];
  const cmd = nodeCommand(CTL, ['--endpoints', fake.address, 'audit', '--follow', '-o', 'json'], [], env);
  const script = `${[cmd.command, ...cmd.args].map(quote).join(' ')} > >(cat) & echo "pid=$!"; wait $!; echo "ctl=$?"`;
  const shell = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const arrived = new Map<number, () => void>();
  readline.createInterface({ input: shell.stdout }).on('line', (line) => {
    lines.push(line);
    arrived.get(lines.length)?.();
  });
  const until = (count: number, what: string): Promise<void> =>
    lines.length >= count
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`waited 15s for ${what}; lines: ${JSON.stringify(lines)}`)), 15_000);
          arrived.set(count, () => {
            clearTimeout(timer);
            resolve();
          });
        });
  await until(2, 'the pid and the first event');
  const pid = Number(lines.find((l) => l.startsWith('pid='))?.slice(4));
  t.ok(pid > 0, `ctl runs as pid ${pid}`);
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  // An idle spell, as a follow mostly is: the scenario itself, not a wait for something.
  setTimeout(() => (follow as grpc.ServerWritableStream<unknown, unknown> | null)?.write({ ...EVENT, subject: 'c2' }), IDLE_MS);
  await until(3, 'the second event');
  t.notOk(lines.some((l) => l.startsWith('ctl=')), 'ctl did not exit while the pipe had its reader');
  t.match(JSON.parse(lines[2] ?? '{}'), { subject: 'c2' });
  process.kill(pid, 'SIGTERM');
  await until(4, 'ctl to end on SIGTERM');
  t.match(lines[3], /^ctl=/);
});
