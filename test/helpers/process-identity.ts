/**
 * A pid names a process only while it runs: once it exits, the kernel may give its pid to
 * another. A pid together with its start time (/proc/PID/stat field 22, clock ticks since
 * boot) names one process for good. Linux only; without /proc nothing is known (null, false).
 */
import fs from 'node:fs';

interface ProcStat {
  readonly state: string;
  readonly startTime: string;
}

function readStat(pid: number): ProcStat | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2, the command name, is in parentheses and may itself contain spaces and ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0]; // field 3
  const startTime = fields[19]; // field 22
  return state === undefined || startTime === undefined ? null : { state, startTime };
}

/** When process `pid` started; null when there is no such process. */
export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/** Whether the process that started at `startTime` as `pid` still runs (a zombie has exited). */
export function isRunning(pid: number, startTime: string): boolean {
  const stat = readStat(pid);
  return stat !== null && stat.startTime === startTime && stat.state !== 'Z';
}
