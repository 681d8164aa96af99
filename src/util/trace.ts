/**
 * An opt-in trace of what a write does in each process, to see where the time of one put goes
 * across the client, the leader and the followers (bench/trace-put.ts reads the files).
 *
 * `CONTROLLER_TRACE=DIR` makes the process append lines `<ns> <event> <detail>` to
 * `DIR/<pid>.trace`, with `<ns>` from CLOCK_MONOTONIC (process.hrtime), which every process on
 * one machine shares. Without it each trace point is one boolean check. Lines are buffered and
 * written in blocks (and at exit), so tracing adds little to what it measures.
 */
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env['CONTROLLER_TRACE'];

/** True when this process traces; callers build details only then. */
export const tracing = dir !== undefined && dir !== '';

const FLUSH_LINES = 2000;
let lines: string[] = [];
let fd: number | null = null;

function flush(): void {
  if (lines.length === 0 || !tracing) return;
  try {
    fd ??= fs.openSync(path.join(dir!, `${process.pid}.trace`), 'a');
    fs.writeSync(fd, lines.join(''));
  } catch {
    // A trace is a diagnostic: never let it break the process.
  }
  lines = [];
}

if (tracing) {
  process.on('exit', flush);
  setInterval(flush, 1000).unref();
}

/** Records `event` now; `detail` is free text without newlines. */
export function trace(event: string, detail: string | number = ''): void {
  if (!tracing) return;
  lines.push(`${process.hrtime.bigint()} ${event} ${detail}\n`);
  if (lines.length >= FLUSH_LINES) flush();
}

/** Records `event` now with the CPU this process has used so far (`cpu=<ms>`, user + system). */
export function traceMilestone(event: string, detail = ''): void {
  if (!tracing) return;
  const u = process.cpuUsage();
  trace(event, `${detail}${detail === '' ? '' : ' '}cpu=${Math.round((u.user + u.system) / 1000)}`);
}
