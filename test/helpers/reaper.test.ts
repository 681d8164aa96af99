import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { isRunning, processStartTime } from './process-identity.js';
import { REAPER_JS } from './reaper.js';
import { waitFor } from './wait-for.js';

const FIXTURE_JS = fileURLToPath(new URL('./reaper-fixture.js', import.meta.url));
const DEADLINE_MS = 20_000;

interface Started {
  readonly pid: number;
  readonly startTime: string;
}

/** Tracks what a test started, to SIGKILL by pid (and start time) whatever still runs at teardown. */
function tracker(t: Test): (pid: number | undefined) => Started {
  const started: Started[] = [];
  t.teardown(() => {
    for (const p of started) if (isRunning(p.pid, p.startTime)) process.kill(p.pid, 'SIGKILL');
  });
  return (pid) => {
    if (pid === undefined) throw new Error('the process did not start');
    const startTime = processStartTime(pid);
    if (startTime === null) throw new Error('the process is gone already');
    const p = { pid, startTime };
    started.push(p);
    return p;
  };
}

function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.once('exit', () => reject(new Error(`exited before printing a line: ${JSON.stringify(out)}`)));
  });
}

void t.test('a guarded child dies when the process that guards it is SIGKILLed', async (t) => {
  const track = tracker(t);
  const script = spawn(process.execPath, [FIXTURE_JS, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const scriptProc = track(script.pid);
  const child = track(Number(await firstLine(script)));
  t.ok(isRunning(child.pid, child.startTime), 'the guarded child runs while its parent does');
  process.kill(scriptProc.pid, 'SIGKILL');
  await waitFor(() => !isRunning(child.pid, child.startTime), 'the guarded child to die with its parent', DEADLINE_MS);
  t.pass('the guarded child died with its parent');
});

void t.test('the watchdog kills only what is still registered and still the process registered', async (t) => {
  const track = tracker(t);
  const deregistered = sleeper();
  const reused = sleeper();
  const registered = sleeper();
  const d = track(deregistered.pid);
  const r = track(reused.pid);
  const k = track(registered.pid);
  const watchdog = spawn(process.execPath, [REAPER_JS], { stdio: ['pipe', 'ignore', 'inherit'] });
  track(watchdog.pid);
  // A pid registered with an earlier start time than its process's: the registered process
  // exited and the kernel gave its pid to this one.
  const earlier = String(Number(r.startTime) - 1);
  // The one to be killed last: once it is dead, the others' kills, had there been any, were sent.
  watchdog.stdin.end([`add ${d.pid} ${d.startTime}`, `add ${r.pid} ${earlier}`, `del ${d.pid}`, `add ${k.pid} ${k.startTime}`, ''].join('\n'));
  await waitFor(() => watchdog.exitCode !== null, 'the watchdog to exit once its stdin ended', DEADLINE_MS);
  t.equal(watchdog.exitCode, 0, 'the watchdog exits cleanly');
  await waitFor(() => !isRunning(k.pid, k.startTime), 'the registered process to die', DEADLINE_MS);
  await exited(registered);
  t.equal(registered.signalCode, 'SIGKILL', 'the registered process was SIGKILLed');
  t.ok(isRunning(d.pid, d.startTime), 'a deregistered process is left alone');
  t.ok(isRunning(r.pid, r.startTime), 'a process that took over a registered pid is left alone');
});

void t.test('a process that guards a child still exits on its own', async (t) => {
  const track = tracker(t);
  const script = spawn(process.execPath, [FIXTURE_JS, 'brief'], { stdio: ['ignore', 'ignore', 'inherit'] });
  track(script.pid);
  await waitFor(() => script.exitCode !== null, 'the script to exit on its own', DEADLINE_MS);
  t.equal(script.exitCode, 0, 'it exits cleanly');
});
