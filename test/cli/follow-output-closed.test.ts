/**
 * `ctl audit --follow | head -1` and `ctl watch KEY | head -1`: ctl exits (0) once head has
 * exited, not at the next event after it (attack-operator round 15: an idle follow ran on for
 * as long as nothing happened). src/cli/output-closed.ts.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
