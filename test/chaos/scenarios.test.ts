/**
 * CI: every scenario, briefly, through the CLI as an operator runs it, with the seeds of
 * ci-seeds.ts (fixed and printed; CHAOS_SEED=N overrides them, CHAOS_SCALE=2 doubles the
 * durations). What fails the build, at any load: a safety problem (not linearizable, a lost
 * write), a liveness problem (no leader or no acknowledged write within the bound after a heal,
 * stated in election timeouts; see chaos/liveness.ts), a controller that exited on its own, or
 * a harness that could not do its job. Status accuracy and convergence on real processes
 * depend on the machine's load: they are printed here, and asserted on the deterministic
 * membership simulations (test/membership/) instead. `npm test` runs this file alone, after
 * every other test.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { BUILD_FAILING_KINDS, type ChaosReport } from '../../chaos/report.js';
import { SCENARIOS } from '../../chaos/scenarios.js';
import { nodeCommand } from '../helpers/node-command.js';
import { guardChild } from '../helpers/reaper.js';
import { CI_RUNS, SELF_TEST_SEED } from './ci-seeds.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../chaos/chaos-cli.js');
const scale = Number(process.env.CHAOS_SCALE ?? '1') || 1;
const fixedSeed = process.env.CHAOS_SEED === undefined ? null : Number(process.env.CHAOS_SEED);
const seedOf = (seed: number): number => fixedSeed ?? seed;

t.comment(`seeds: ${CI_RUNS.map((r) => `${r.scenario} ${seedOf(r.seed)}`).join(', ')}${fixedSeed === null ? ' (test/chaos/ci-seeds.ts)' : ' (CHAOS_SEED)'}`);

// Nine real clusters one after the other: about 4-5 minutes on two cores.
t.setTimeout(15 * 60_000);

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve) => {
    // Its controllers inherit its environment: they too start without tap's hooks.
    const cmd = nodeCommand(CLI, args);
    const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    guardChild(child);
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

/** The run directory a failed run keeps, removed once it is of no further use. */
function removeKept(run: CliRun): void {
  const kept = /cluster data and logs kept in (\S+)/.exec(run.stdout)?.[1];
  if (kept !== undefined && kept.includes('chaos-')) fs.rmSync(kept, { recursive: true, force: true });
}

void t.test('--list names every scenario; a bad scenario is a usage error', async (t) => {
  const list = await runCli(['--list'], 30000);
  t.equal(list.code, 0);
  t.strictSame(CI_RUNS.map((r) => r.scenario).sort(), SCENARIOS.map((s) => s.name).sort(), 'CI runs every scenario');
  for (const { scenario } of CI_RUNS) t.match(list.stdout, new RegExp(`^${scenario}\\s`, 'm'), scenario);
  const bad = await runCli(['--scenario', 'no-such-thing'], 30000);
  t.equal(bad.code, 2, 'exit 2');
  t.match(bad.stderr, /unknown scenario/);
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-ci-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

void t.test('the checks catch a lost write and a stale read planted in a real run', async (t) => {
  const report = path.join(dir, 'self-test.json');
  const run = await runCli(['--scenario', 'isolate-follower', '--seed', String(SELF_TEST_SEED), '--duration', '6s', '--self-test', '--report', report], 120_000);
  t.equal(run.code, 1, 'the run fails');
  const parsed = JSON.parse(fs.readFileSync(report, 'utf8')) as ChaosReport;
  t.equal(parsed.linearizable, false, 'the stale final read is not linearizable');
  t.equal(parsed.lostWrites, 1, 'the write that never happened is missing');
  t.match(parsed.verdict.problems.join('\n'), /is not linearizable[\s\S]*acknowledged writes are missing/);
  // The cluster's data dir is kept for a failed run; this one failed on purpose.
  removeKept(run);
});

for (const run of CI_RUNS) {
  const { scenario } = run;
  const seed = seedOf(run.seed);
  const seconds = Math.round(run.seconds * scale);
  void t.test(`${scenario} for ${seconds}s (seed ${seed})`, async (t) => {
    const report = path.join(dir, `${scenario}.json`);
    const cli = await runCli(['--scenario', scenario, '--seed', String(seed), '--duration', `${seconds}s`, '--report', report], 300_000);
    let parsed: ChaosReport | null;
    try {
      parsed = JSON.parse(fs.readFileSync(report, 'utf8')) as ChaosReport;
    } catch {
      parsed = null; // no report: the output below says why
    }
    const output = (cli.stdout + cli.stderr).split('\n').slice(-40).join('\n');
    if (parsed === null) {
      t.fail(`${scenario} seed ${seed}: no report (exit ${String(cli.code)})`, { output });
      return;
    }
    const { problems, kinds } = parsed.verdict;
    const judged = problems.filter((_, i) => BUILD_FAILING_KINDS.has(kinds[i] ?? 'harness'));
    const printed = problems.filter((_, i) => !BUILD_FAILING_KINDS.has(kinds[i] ?? 'harness'));
    const c = parsed.convergenceMs;
    t.comment(
      `${scenario} seed ${seed}: status accuracy ${(parsed.statusAccuracy * 100).toFixed(3)}%, convergence p50 ${c.p50}ms p99 ${c.p99}ms, ` +
        `load ${parsed.machine.loadBefore.toFixed(1)}-${parsed.machine.loadAfter.toFixed(1)} on ${parsed.machine.cpus} CPUs (reported, not judged here)`,
    );
    for (const p of printed) t.comment(`${scenario} seed ${seed}: reported: ${p}`);
    t.strictSame(judged, [], 'no safety, liveness, crash or harness problem', { replay: parsed.replay, output });
    t.equal(cli.code, parsed.verdict.ok ? 0 : 1, 'the exit code follows the verdict');
    t.equal(parsed.scenario, scenario);
    t.equal(parsed.seed, seed);
    t.equal(parsed.linearizable, true, 'linearizable');
    t.equal(parsed.lostWrites, 0, 'no acknowledged write lost');
    t.ok(parsed.faults.length > 0, `${parsed.faults.length} faults`);
    t.ok(parsed.liveness.heals.length > 0, `${parsed.liveness.heals.length} heals`);
    for (const h of parsed.liveness.heals) {
      const at = `${(h.atMs / 1000).toFixed(1)}s`;
      t.ok(h.leaderMs !== null && h.writeMs !== null, `after the heal at ${at} (${h.cause}): a leader in ${String(h.leaderMs)}ms, a write in ${String(h.writeMs)}ms (bound ${parsed.liveness.boundMs}ms)`);
    }
    t.ok(fs.existsSync(parsed.timeline ?? ''), 'the timeline was written next to the report');
    // A run that failed only on what is reported here keeps a data dir of no further use.
    if (judged.length === 0) removeKept(cli);
  });
}
