/**
 * Sweeps the membership simulation over many seeds against the status targets, as the seeded
 * tests do for their few fixed ones (fault-schedule.ts: answers right beyond the convergence
 * budget, accuracy >= 99.9 %, p99 convergence within 3 s at base 2 s and 1.5 s at 500 ms, the
 * committed state within its budget, no two non-stale nodes contradicting each other).
 *
 *   npm run sim:status -- --nodes 5 --base 2000 --seeds 200 [--start 1] [--seconds 300] [--partial | --odd]
 *
 * Prints each failing seed's problems (the test's replay line) and a summary; exits 1 when any
 * seed fails, 2 on bad arguments.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { percentile } from './checker.js';
import { runStatusSeed, statusTargetFailures, type StatusFaults } from './fault-schedule.js';

function positiveInt(raw: string): number {
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`expected a positive integer, found ${JSON.stringify(raw)}`);
  return v;
}

/**
 * A cluster the targets speak of: a quorum that survives a fault needs 3 members, and the
 * simulation's cost grows with the square of the members (every node pings every other).
 */
const MIN_NODES = 3;
const MAX_NODES = 31;
/** Faults start 8 s in and stop 15 s before the end (fault-schedule.ts): shorter runs judge nothing. */
const MIN_SECONDS = 60;

function nodes(raw: string): number {
  const v = positiveInt(raw);
  if (v < MIN_NODES || v > MAX_NODES) throw new InvalidArgumentError(`expected ${MIN_NODES} to ${MAX_NODES} nodes, found ${v}`);
  return v;
}

function seconds(raw: string): number {
  const v = positiveInt(raw);
  if (v < MIN_SECONDS) throw new InvalidArgumentError(`expected at least ${MIN_SECONDS} simulated seconds (faults start 8 s in and stop 15 s before the end), found ${v}`);
  return v;
}

function baseTimeout(raw: string): number {
  const v = positiveInt(raw);
  if (v !== 500 && v !== 2000) throw new InvalidArgumentError('the targets are stated for base 500 or 2000 (ms)');
  return v;
}

const program = new Command('sim:status')
  .description('Sweep the membership simulation over seeds against the status targets.')
  .option('--nodes <n>', `cluster size, ${MIN_NODES} to ${MAX_NODES}`, nodes, 5)
  .option('--base <ms>', 'membership base_timeout: 500 or 2000', baseTimeout, 2000)
  .option('--seconds <s>', `simulated seconds per seed, at least ${MIN_SECONDS}`, seconds, 300)
  .option('--start <s>', 'first seed', positiveInt, 1)
  .option('--seeds <n>', 'how many seeds', positiveInt, 50)
  .option('--partial', 'partial partitions (bridges, one-way cuts) instead of random node faults and link cuts', false)
  .option('--odd', 'one-way rings and chains, flapping links and nodes, short stalls, a minority holding the leader, a leader reached one way (odd-fault-schedule.ts)', false)
  .exitOverride();
try {
  program.parse();
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  process.exit(err.exitCode === 0 ? 0 : 2);
}
const o = program.opts<{ nodes: number; base: number; seconds: number; start: number; seeds: number; partial: boolean; odd: boolean }>();
if (o.partial && o.odd) {
  console.error('--partial and --odd are two fault schedules: choose one');
  process.exit(2);
}
const faults: StatusFaults = o.partial ? 'partial' : o.odd ? 'odd' : 'random';

const began = Date.now();
const failed: number[] = [];
const p99s: number[] = [];
const totals = { scored: 0, falseOnline: 0, falseOffline: 0 };
for (let seed = o.start; seed < o.start + o.seeds; seed++) {
  const run = runStatusSeed({ n: o.nodes, base: o.base, seconds: o.seconds, seed, faults });
  p99s.push(percentile(run.checker.rowConvergence, 99));
  totals.scored += run.checker.scored;
  totals.falseOnline += run.checker.falseOnline;
  totals.falseOffline += run.checker.falseOffline;
  const failures = statusTargetFailures(run);
  if (failures.length > 0) {
    failed.push(seed);
    for (const line of failures) console.log(line);
  }
  const done = seed - o.start + 1;
  if (done % 10 === 0 || done === o.seeds) process.stderr.write(`${done}/${o.seeds} seeds, ${failed.length} failed, ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
}
console.log(
  `${o.nodes} nodes, base ${o.base} ms, ${faults} faults, ${o.seconds} s each: ${o.seeds - failed.length} of ${o.seeds} seeds met the targets` +
    `${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}; worst p99 convergence ${Math.max(...p99s)} ms; ` +
    `${totals.scored} answers scored, ${totals.falseOnline} false online, ${totals.falseOffline} false offline`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
