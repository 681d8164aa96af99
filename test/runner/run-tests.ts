/**
 * `npm test`'s runner: every test file in its own `node` process, `--jobs` at a time, with the
 * output of each file kept together as one TAP subtest and a summary at the end.
 *
 * Why not `tap`'s own runner: it starts every test file with its processinfo loader
 * (`--import @tapjs/processinfo/...`, which it adds unconditionally, coverage or not), and that
 * loader sends every module the file imports through a hooks thread. On this project's 2-core
 * CI host that was about 0.9 s of CPU per file before the first test ran (a file that runs in
 * 0.35 s took 1.1 s), and the suite is CPU-bound: 80 unit files took 72 s under `tap --jobs 2`
 * and 36 s this way (docs/benchmarks.md, twentieth session). The files are plain `tap` tests
 * and still run under `npx tap FILE`; this runner sets what tap's runner would (the timeout in
 * `TAP_TIMEOUT`) and nothing else.
 *
 *     node dist/test/runner/run-tests.js [--jobs N] [--timeout S] [--exclude FILE]... PATH...
 *
 * A PATH is a test file or a directory searched for `*.test.js`. Exit 0 only when every file
 * exited 0 and printed its plan.
 *
 * A file that says `// run-tests: waits` near its top spends most of its time waiting on the
 * clock (a dead-member threshold of a minute, a lock-out of 30 holds, connection attempts 2 s
 * apart) with a core idle beside it. With `--jobs` 2 or more such files run one at a time in a
 * lane of their own, beside the `--jobs` lanes of the others, so they no longer hold a lane
 * the suite's CPU-bound files need (the suite is CPU-bound otherwise: 84% busy at `--jobs 2`).
 * Lint (test/build/lint.test.ts) goes there too: it runs eslint at a lower priority, on the CPU
 * the busy lanes leave idle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface Outcome {
  readonly file: string;
  readonly ok: boolean;
  readonly why: string;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly asserts: { readonly total: number; readonly pass: number };
}

/** After the file's own timeout (tap's, from TAP_TIMEOUT), what the runner waits before SIGALRM, then SIGKILL. */
const ALARM_GRACE_MS = 15_000;
const KILL_GRACE_MS = 10_000;

/** Signals a child's whole process group (it was spawned detached, as its group's leader). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** What a file mostly waiting on the clock says near its top (see above). */
export const WAITS_MARK = '// run-tests: waits';

function waits(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    return head.subarray(0, fs.readSync(fd, head, 0, head.length, 0)).toString('utf8').includes(WAITS_MARK);
  } finally {
    fs.closeSync(fd);
  }
}

function testFiles(target: string, excluded: ReadonlySet<string>): string[] {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return excluded.has(path.normalize(target)) ? [] : [path.normalize(target)];
  const found: string[] = [];
  for (const entry of fs.readdirSync(target, { withFileTypes: true })) {
    const full = path.join(target, entry.name);
    if (entry.isDirectory()) found.push(...testFiles(full, excluded));
    else if (entry.name.endsWith('.test.js') && !excluded.has(full)) found.push(full);
  }
  return found;
}

/** The file's own summary line, `# { total: 36, pass: 36 }` (with `fail: N` when some failed). */
function assertCounts(stdout: string): { total: number; pass: number } {
  const m = /^# \{ total: (\d+), pass: (\d+)/m.exec(stdout.slice(-4096));
  return m === null ? { total: 0, pass: 0 } : { total: Number(m[1]), pass: Number(m[2]) };
}

function runFile(file: string, timeoutS: number, children: Set<ChildProcess>): Promise<Outcome> {
  const started = performance.now();
  // Its own process group, so a timeout takes down whatever the file started with it.
  const child = spawn(process.execPath, ['--enable-source-maps', file], {
    env: { ...process.env, TAP_TIMEOUT: String(timeoutS) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  /** Why the runner itself failed the file (it timed out, or could not start), if it did. */
  let runnerVerdict: string | null = null;
  const alarm = setTimeout(() => {
    runnerVerdict = `still running ${timeoutS}s after its start plus ${ALARM_GRACE_MS / 1000}s of grace`;
    signalGroup(child, 'SIGALRM');
  }, timeoutS * 1000 + ALARM_GRACE_MS);
  const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutS * 1000 + ALARM_GRACE_MS + KILL_GRACE_MS);
  return new Promise((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(alarm);
      clearTimeout(kill);
      children.delete(child);
      const stdout = Buffer.concat(out).toString('utf8');
      const planned = /^1\.\.\d+/m.test(stdout);
      const why =
        runnerVerdict ??
        (signal !== null ? `killed by ${signal}` : code !== 0 ? `exit code ${String(code)}` : planned ? '' : 'exited without printing its plan');
      // A file that failed may not have stopped what it started (its teardown never ran); a
      // file that passed stopped its own processes, which its tests check.
      if (why !== '') signalGroup(child, 'SIGKILL');
      resolve({ file, ok: why === '', why, ms: performance.now() - started, stdout, stderr: Buffer.concat(err).toString('utf8'), asserts: assertCounts(stdout) });
    };
    child.on('close', finish);
    // Node could not be started at all: no output, and maybe no 'close'.
    child.on('error', (e) => {
      if (child.pid !== undefined) return;
      runnerVerdict = `could not start node: ${e.message}`;
      finish(null, null);
    });
  });
}

/** One file's output as a TAP subtest: its lines indented, its stderr as comments. */
function report(n: number, o: Outcome): string {
  const lines = [`# Subtest: ${o.file}`];
  for (const line of o.stdout.split('\n')) if (line !== '' && line !== 'TAP version 14') lines.push(`    ${line}`);
  for (const line of o.stderr.split('\n')) if (line !== '') lines.push(`    # stderr: ${line}`);
  lines.push(`${o.ok ? 'ok' : 'not ok'} ${n} - ${o.file}${o.ok ? '' : ` (${o.why})`} # time=${o.ms.toFixed(0)}ms`, '');
  return lines.join('\n') + '\n';
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      jobs: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '300' },
      exclude: { type: 'string', multiple: true, default: [] },
    },
  });
  const jobs = Number(values.jobs);
  const timeoutS = Number(values.timeout);
  if (!Number.isInteger(jobs) || jobs < 1 || !Number.isFinite(timeoutS) || timeoutS <= 0 || positionals.length === 0) {
    process.stderr.write('usage: run-tests [--jobs N] [--timeout SECONDS] [--exclude FILE]... PATH...\n');
    return 2;
  }
  const missing = positionals.filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    process.stderr.write(`run-tests: no such file or directory: ${missing.join(', ')}\n`);
    return 2;
  }
  const excluded = new Set(values.exclude.map((f) => path.normalize(f)));
  const files = [...new Set(positionals.flatMap((p) => testFiles(p, excluded)))].sort();
  process.stdout.write(`TAP version 14\n1..${files.length}\n`);

  const started = performance.now();
  const children = new Set<ChildProcess>();
  const stop = (signal: NodeJS.Signals): void => {
    for (const c of children) signalGroup(c, 'SIGTERM');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const outcomes: Outcome[] = [];
  // With one job the run stays one file at a time (chaos needs the host to itself).
  const waiting = jobs >= 2 ? files.filter(waits) : [];
  const busy = files.filter((f) => !waiting.includes(f));
  const lane = (queue: string[]) => async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const o = await runFile(file, timeoutS, children);
      outcomes.push(o);
      process.stdout.write(report(outcomes.length, o));
    }
  };
  const busyLane = lane(busy);
  await Promise.all([...Array.from({ length: Math.min(jobs, busy.length) }, () => busyLane()), lane(waiting)()]);

  const failed = outcomes.filter((o) => !o.ok);
  const total = outcomes.reduce((a, o) => a + o.asserts.total, 0);
  const pass = outcomes.reduce((a, o) => a + o.asserts.pass, 0);
  process.stdout.write(`# files: ${outcomes.length - failed.length} passed, ${failed.length} failed\n`);
  for (const o of failed) process.stdout.write(`# failed: ${o.file} (${o.why})\n`);
  process.stdout.write(`# { total: ${total}, pass: ${pass}${total > pass ? `, fail: ${total - pass}` : ''} }\n# time=${(performance.now() - started).toFixed(3)}ms\n`);
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
