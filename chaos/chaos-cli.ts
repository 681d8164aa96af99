#!/usr/bin/env node
/**
 * `npm run chaos -- --list`
 * `npm run chaos -- --scenario NAME [--nodes N] [--duration 30s] [--seed N] [--report FILE.json]`
 *
 * Exit 0 only when the run found nothing wrong; 1 when it found something (the report says
 * what, and how to replay it); 2 for a usage error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../src/config/duration.js';
import { summarize } from './report.js';
import { runScenario } from './runner.js';
import { SCENARIOS, scenarioNamed } from './scenarios.js';

function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

function integer(min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, found ${JSON.stringify(text)}`);
    return n;
  };
}

function fraction(text: string): number {
  const n = Number(text);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number from 0 to 1, found ${JSON.stringify(text)}`);
  return n;
}

interface Options {
  list: boolean;
  scenario?: string;
  nodes?: number;
  duration: number;
  seed?: number;
  report?: string;
  baseTimeout?: number;
  electionTimeout: number;
  dynamicAdjustment: boolean;
  clients: number;
  registers: number;
  minAccuracy: number;
  maxConvergence?: number;
  keep: boolean;
  selfTest: boolean;
  logLevel: string;
}

const program = new Command()
  .name('chaos')
  .description('Run a fault-injection scenario against real controller processes and check what they did.')
  .option('--list', 'list the scenarios and exit', false)
  .option('--scenario <name>', 'the scenario to run (see --list)')
  .option('--nodes <n>', 'cluster size (default: the scenario\'s)', integer(1, 25))
  .addOption(new Option('--duration <d>', 'how long the workload and the faults run').argParser(duration).default(30_000, '30s'))
  .option('--seed <n>', 'the seed of the schedule and the workload (default: random, printed)', integer(0, 2 ** 31 - 1))
  .option('--report <file.json>', 'where the JSON report goes; the timeline goes next to it (.html)')
  .option('--base-timeout <d>', "controller.heartbeat.base_timeout of the cluster (default: the scenario's, 500ms but 2s for large-cluster)", duration)
  .addOption(new Option('--election-timeout <d>', 'raft.election_timeout (heartbeat_interval is a tenth of it)').argParser(duration).default(1_000, '1s'))
  .option('--no-dynamic-adjustment', 'use exactly base_timeout (controller.heartbeat.dynamic_adjustment false)')
  .option('--clients <n>', 'concurrent workload clients', integer(1, 64), 4)
  .option('--registers <n>', 'registers (keys) the clients share', integer(1, 100), 3)
  .option('--min-accuracy <x>', 'the status accuracy the run must reach', fraction, 0.999)
  .option('--max-convergence <d>', 'the p99 convergence the run must reach (default: base timeout + 1 s)', duration)
  .option('--self-test', 'corrupt the record on purpose (a lost write, a stale read): the run must fail', false)
  .option('--keep', 'keep the cluster\'s data, logs and the run\'s raw history (history.json) even when the run passes', false)
  .option('--log-level <level>', 'the controllers\' log level', 'info')
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });

async function main(): Promise<number> {
  try {
    program.parse();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = program.opts<Options>();
  if (o.list) {
    const width = Math.max(...SCENARIOS.map((s) => s.name.length));
    for (const s of SCENARIOS) {
      const base = `${(s.defaultBaseTimeoutMs ?? 500) / 1000}s`.padStart(4);
      process.stdout.write(`${s.name.padEnd(width)}  ${String(s.defaultNodes).padStart(2)} nodes  base ${base}  ${s.description}\n`);
    }
    return 0;
  }
  if (o.scenario === undefined) {
    process.stderr.write('chaos: --scenario NAME is required (or --list)\n');
    return 2;
  }
  const scenario = scenarioNamed(o.scenario);
  if (scenario === undefined) {
    process.stderr.write(`chaos: unknown scenario ${JSON.stringify(o.scenario)}; expected one of ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const nodes = o.nodes ?? scenario.defaultNodes;
  if (nodes < scenario.minNodes) {
    process.stderr.write(`chaos: ${scenario.name} needs at least ${scenario.minNodes} nodes, found --nodes ${nodes}\n`);
    return 2;
  }
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const reportPath = path.resolve(o.report ?? path.join(os.tmpdir(), 'chaos-reports', `${scenario.name}-${seed}.json`));
  fs.mkdirSync(path.dirname(reportPath), { recursive: true });
  const result = await runScenario({
    scenario,
    seed,
    nodes,
    durationMs: o.duration,
    baseTimeoutMs: o.baseTimeout ?? scenario.defaultBaseTimeoutMs ?? 500,
    dynamicAdjustment: o.dynamicAdjustment,
    electionTimeoutMs: o.electionTimeout,
    clients: o.clients,
    registers: o.registers,
    minAccuracy: o.minAccuracy,
    ...(o.maxConvergence !== undefined ? { maxConvergenceP99Ms: o.maxConvergence } : {}),
    reportPath,
    keep: o.keep,
    selfTest: o.selfTest,
    logLevel: o.logLevel,
    out: (line) => process.stdout.write(`${line}\n`),
    tty: process.stdout.isTTY === true,
  });
  process.stdout.write(`${summarize(result.report)}\n`);
  process.stdout.write(`report: ${reportPath}\ntimeline: ${result.report.timeline ?? '-'}\n`);
  if (result.kept) process.stdout.write(`cluster data and logs kept in ${result.dir}\n`);
  return result.report.verdict.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
