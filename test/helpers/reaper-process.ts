/**
 * The watchdog behind reaper.ts, one per test process, its stdin a pipe from that process:
 * `add <pid> <start time>` registers a child, `del <pid>` forgets it. When stdin ends the test
 * process is gone, however it died (the kernel closes the pipe even after SIGKILL): every child
 * still registered is SIGKILLed, if it is still the process registered, and the watchdog exits.
 */
import readline from 'node:readline';
import { processStartTime } from './process-identity.js';

const registered = new Map<number, string>();

// Ctrl-C or a hang-up in a terminal reaches the whole process group; the watchdog has to
// outlive the test process to do its work, and leaves when the pipe closes.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

function reap(): void {
  for (const [pid, startTime] of registered) {
    // A pid with another start time was reused by a process we know nothing of. (The pid could
    // still be reused between this check and the kill: microseconds, against a dead child's.)
    if (processStartTime(pid) !== startTime) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  process.exit(0);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [verb, pidText, startTime] = line.split(' ');
  const pid = Number(pidText);
  // Never a pid <= 0: kill() would take it for a process group.
  if (!Number.isSafeInteger(pid) || pid <= 0) return;
  if (verb === 'add' && startTime !== undefined && startTime !== '') registered.set(pid, startTime);
  else if (verb === 'del') registered.delete(pid);
});
lines.on('close', reap);
process.stdin.on('error', reap);
