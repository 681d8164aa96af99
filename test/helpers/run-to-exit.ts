/** Runs a node script to its exit, collecting its output; SIGKILL and a rejection after `timeoutMs`. */
import { spawn } from 'node:child_process';
import { nodeCommand } from './node-command.js';
import { guardChild } from './reaper.js';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runToExit(script: string, args: readonly string[], what: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const cmd = nodeCommand(script, args, [], env);
    const p = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    guardChild(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${what} did not finish within ${timeoutMs}ms`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
