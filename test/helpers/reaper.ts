/**
 * Children die with the test process, however it dies. Teardown stops what a test started, but
 * a test process killed from outside (tap's timeout, SIGKILL) runs no teardown, and its
 * controllers would run on as orphans. So the first guarded child starts a watchdog
 * (reaper-process.ts) with a pipe to it: each guarded child is registered as it starts and
 * forgotten when it exits, and when the pipe closes the watchdog kills those still registered.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { nodeCommand } from './node-command.js';
import { processStartTime } from './process-identity.js';

export const REAPER_JS = fileURLToPath(new URL('./reaper-process.js', import.meta.url));

/** Guarded children still running, by pid, with their start times. */
const guarded = new Map<number, string>();
let watchdog: ChildProcessByStdio<Writable, null, null> | null = null;

function addLine(pid: number, startTime: string): string {
  return `add ${pid} ${startTime}\n`;
}

function startWatchdog(): ChildProcessByStdio<Writable, null, null> {
  // Not our stdout or stderr: tap reads those to their end, which would wait for the watchdog.
  const cmd = nodeCommand(REAPER_JS, []);
  const w = spawn(cmd.command, cmd.args, { stdio: ['pipe', 'ignore', 'ignore'] });
  // Neither the watchdog nor the pipe to it may keep this process alive (an idle pipe holds
  // nothing, but one with a write pending would).
  w.unref();
  if (w.stdin instanceof net.Socket) w.stdin.unref();
  // Should it die before us, writes to it fail; the next guarded child starts another.
  w.stdin.on('error', () => undefined);
  w.once('exit', () => {
    if (watchdog === w) watchdog = null;
  });
  for (const [pid, startTime] of guarded) w.stdin.write(addLine(pid, startTime));
  return w;
}

/** Has `child` SIGKILLed if this process dies while it runs. Linux only (needs /proc). */
export function guardChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return; // it never started
  const startTime = processStartTime(pid);
  if (startTime === null) return; // already gone, or no /proc to tell it from a reused pid
  guarded.set(pid, startTime);
  if (watchdog === null) watchdog = startWatchdog();
  else watchdog.stdin.write(addLine(pid, startTime));
  child.once('exit', () => {
    guarded.delete(pid);
    watchdog?.stdin.write(`del ${pid}\n`);
  });
}
