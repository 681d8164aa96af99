/**
 * CI: every scenario, briefly, through the CLI as an operator runs it. Each run must come back
 * with a clean verdict (exit 0); a failure prints the seed, the problems and the command that
 * replays it. On a machine so loaded that the controllers starve (load average above 3 per
 * CPU), a verdict that failed on timing alone (status accuracy or convergence, progress) is set
 * aside with a comment that lists its problems; safety is still asserted. CHAOS_SEED fixes the
 * seed (default: a new one per run, printed), and CHAOS_SCALE stretches the durations (e.g. 2
 * for twice as long). `npm test` runs this file alone, after every other test.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { ChaosReport } from '../../chaos/report.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../chaos/chaos-cli.js');
const scale = Number(process.env.CHAOS_SCALE ?? '1') || 1;
const fixedSeed = process.env.CHAOS_SEED === undefined ? null : Number(process.env.CHAOS_SEED);

/** Seconds of workload and faults per scenario: enough for two faults and their heals. */
const RUNS: ReadonlyArray<readonly [string, number]> = [
  ['jitter', 10],
  ['isolate-follower', 15],
  ['isolate-leader', 15],
  ['kill-leader', 15],
  ['pause-node', 15],
  ['partition-majority', 15],
  ['asymmetric', 16],
  ['large-cluster', 24],
  ['membership-churn', 20],
];

// Nine real clusters one after the other: about 4-5 minutes on two cores.
t.setTimeout(12 * 60_000);

/** 1-minute load average per CPU above which status and liveness timings are not judged. */
const STARVED_LOAD_PER_CPU = 3;

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The harness stops its own cluster; this only guards against a hung harness.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

void t.test('--list names every scenario; a bad scenario is a usage error', async (t) => {
  const list = await runCli(['--list'], 30000);
  t.equal(list.code, 0);
  for (const [name] of RUNS) t.match(list.stdout, new RegExp(`^${name}\\s`, 'm'), name);
  const bad = await runCli(['--scenario', 'no-such-thing'], 30000);
  t.equal(bad.code, 2, 'exit 2');
  t.match(bad.stderr, /unknown scenario/);
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-ci-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

void t.test('the checks catch a lost write and a stale read planted in a real run', async (t) => {
  const report = path.join(dir, 'self-test.json');
  const run = await runCli(['--scenario', 'isolate-follower', '--seed', '1', '--duration', '6s', '--self-test', '--report', report], 120_000);
  t.equal(run.code, 1, 'the run fails');
  const parsed = JSON.parse(fs.readFileSync(report, 'utf8')) as ChaosReport;
  t.equal(parsed.linearizable, false, 'the stale final read is not linearizable');
  t.equal(parsed.lostWrites, 1, 'the write that never happened is missing');
  t.match(parsed.verdict.problems.join('\n'), /is not linearizable[\s\S]*acknowledged writes are missing/);
  // The cluster's data dir is kept for a failed run; this one failed on purpose.
  const kept = /cluster data and logs kept in (\S+)/.exec(run.stdout)?.[1];
  if (kept !== undefined && kept.includes('chaos-')) fs.rmSync(kept, { recursive: true, force: true });
});

for (const [scenario, seconds] of RUNS) {
  const seed = fixedSeed ?? Math.floor(Math.random() * 2 ** 31);
  void t.test(`${scenario} for ${Math.round(seconds * scale)}s (seed ${seed})`, async (t) => {
    const report = path.join(dir, `${scenario}.json`);
    const run = await runCli(['--scenario', scenario, '--seed', String(seed), '--duration', `${Math.round(seconds * scale)}s`, '--report', report], 240_000);
    let parsed: ChaosReport | null;
    try {
      parsed = JSON.parse(fs.readFileSync(report, 'utf8')) as ChaosReport;
    } catch {
      parsed = null; // no report: the output below says why
    }
    const diag = {
      problems: parsed?.verdict.problems ?? [],
      replay: parsed?.replay ?? `npm run chaos -- --scenario ${scenario} --seed ${seed}`,
      output: (run.stdout + run.stderr).split('\n').slice(-40).join('\n'),
    };
    if (parsed === null) {
      t.fail(`${scenario} seed ${seed}: no report (exit ${String(run.code)})`, diag);
      return;
    }
    if (!parsed.verdict.ok) {
      // Timing is only judged on a machine that gave the cluster its CPU: with several runnable
      // processes per core, heartbeats starve and status and progress suffer for reasons that
      // are not the controller's. Safety, crashes and harness errors are judged always.
      const load = Math.max(parsed.machine.loadBefore, parsed.machine.loadAfter) / parsed.machine.cpus;
      const timingOnly = parsed.verdict.kinds.every((k) => k === 'status' || k === 'liveness');
      const starved = load > STARVED_LOAD_PER_CPU;
      if (!(timingOnly && starved)) {
        t.fail(`${scenario} seed ${seed}: ${parsed.verdict.kinds.join(', ')} problems`, diag);
        return;
      }
      // Not a skip: safety is still asserted below; only the timing verdict is set aside.
      t.comment(`${scenario} seed ${seed}: timing not judged at load ${load.toFixed(1)} per CPU: ${diag.problems.join('; ')}`);
      // Set aside: its kept data dir is of no further use.
      const kept = /cluster data and logs kept in (\S+)/.exec(run.stdout)?.[1];
      if (kept !== undefined && kept.includes('chaos-')) fs.rmSync(kept, { recursive: true, force: true });
    }
    t.equal(run.code, parsed.verdict.ok ? 0 : 1, 'the exit code follows the verdict');
    t.equal(parsed.scenario, scenario);
    t.equal(parsed.seed, seed);
    t.equal(parsed.linearizable, true, 'linearizable');
    t.equal(parsed.lostWrites, 0, 'no acknowledged write lost');
    t.ok(parsed.faults.length > 0, `${parsed.faults.length} faults`);
    t.ok(fs.existsSync(parsed.timeline ?? ''), 'the timeline was written next to the report');
  });
}
