/**
 * Runs the Raft simulation from the command line.
 *
 *   npm run sim -- --seed N                 one seed, printing its whole trace
 *   npm run sim -- --seeds N [--start S]    N seeds from S (default 1), progress and a summary
 *   options: --steps M (schedule steps per seed, default 300)
 *            --identity (the identity layer, and the lost-disk fault: lost-disk.test.ts)
 *            --where STAT[,STAT] (with --seeds: also name each seed where one is above 0, to find
 *            seeds that still reach a rule, e.g. creationOverVotes,lateMessagesSetAside)
 *
 * Exits 1 when any seed fails, 2 on bad arguments.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { STAT_NAMES, emptyStats, type StatName } from './cluster.js';
import { DEFAULT_RUN, formatFailure, replayCommand, runSeed, type SimResult } from './run.js';

interface Args {
  readonly seed: number | null;
  readonly seeds: number;
  readonly start: number;
  readonly steps: number;
  readonly identity: boolean;
  readonly where: readonly StatName[];
}

function nonNegativeInt(raw: string): number {
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`expected a non-negative integer, found ${JSON.stringify(raw)}`);
  return v;
}

function statNames(raw: string): StatName[] {
  return raw.split(',').map((name) => {
    const found = STAT_NAMES.find((k) => k === name);
    if (found === undefined) throw new InvalidArgumentError(`expected statistics among ${STAT_NAMES.join(', ')}, found ${JSON.stringify(name)}`);
    return found;
  });
}

function parseArgs(argv: readonly string[]): Args {
  const program = new Command('sim')
    .description('Run seeded Raft simulations: crashes, lost unsynced writes, partitions, message faults.')
    .option('--seed <n>', 'run one seed and print its whole trace', nonNegativeInt)
    .option('--seeds <n>', 'run n seeds, with progress and a summary', nonNegativeInt)
    .option('--start <s>', 'first seed for --seeds', nonNegativeInt, 1)
    .option('--steps <m>', 'schedule steps per seed', nonNegativeInt, DEFAULT_RUN.steps)
    .option('--identity', 'run the identity layer, with the lost-disk fault', false)
    .option('--where <stats>', 'with --seeds: name each seed where one of these statistics (comma-separated) is above 0', statNames)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ seed?: number; seeds?: number; start: number; steps: number; identity: boolean; where?: StatName[] }>();
  if (o.seed === undefined && o.seeds === undefined) program.error('one of --seed or --seeds is required', { exitCode: 2 });
  if (o.seed !== undefined && o.seeds !== undefined) program.error('--seed and --seeds are exclusive', { exitCode: 2 });
  return { seed: o.seed ?? null, seeds: o.seeds ?? 0, start: o.start, steps: o.steps, identity: o.identity, where: o.where ?? [] };
}

function runOne(seed: number, steps: number, identity: boolean): number {
  const r = runSeed(seed, { steps, traceKeep: Number.POSITIVE_INFINITY, echo: (l) => console.log(l), identity });
  console.log('');
  console.log(`stats: ${STAT_NAMES.map((k) => `${k}=${r.stats[k]}`).join(' ')}`);
  if (r.ok) {
    console.log(`seed ${seed}: ok (${r.params})`);
    return 0;
  }
  console.log(`seed ${seed}: FAILED\n${r.failure ?? ''}`);
  return 1;
}

function runMany(a: Args): number {
  const began = Date.now();
  const failed: SimResult[] = [];
  const totals = emptyStats();
  const every = Math.max(1, Math.floor(a.seeds / 20));
  for (let k = 0; k < a.seeds; k++) {
    const seed = a.start + k;
    const r = runSeed(seed, { steps: a.steps, traceKeep: DEFAULT_RUN.traceKeep, identity: a.identity });
    for (const name of STAT_NAMES) totals[name] += r.stats[name];
    const shown = a.where.filter((k) => r.stats[k] > 0);
    if (shown.length > 0) console.log(`seed ${seed}: ${shown.map((k) => `${k}=${r.stats[k]}`).join(' ')}${r.ok ? '' : ' (failed)'}`);
    if (!r.ok) {
      failed.push(r);
      console.log(`seed ${seed}: FAILED ${r.invariant ?? 'exception'} — ${replayCommand(seed, a.identity)}`);
    }
    if ((k + 1) % every === 0 || k + 1 === a.seeds) {
      console.log(`${k + 1}/${a.seeds} seeds, ${failed.length} failed, ${((Date.now() - began) / 1000).toFixed(1)}s`);
    }
  }
  console.log('');
  console.log(`totals: ${STAT_NAMES.map((k) => `${k}=${totals[k]}`).join(' ')}`);
  console.log(`${a.seeds - failed.length} passed, ${failed.length} failed, seeds ${a.start}..${a.start + a.seeds - 1}`);
  const first = failed[0];
  if (first) {
    console.log('');
    console.log(formatFailure(first));
  }
  return failed.length > 0 ? 1 : 0;
}

function main(argv: readonly string[]): number {
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return a.seed !== null ? runOne(a.seed, a.steps, a.identity) : runMany(a);
}

process.exitCode = main(process.argv.slice(2));
