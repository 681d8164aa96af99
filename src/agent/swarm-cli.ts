#!/usr/bin/env node
/**
 * `npm run agents -- --count 1000 --controllers host:port,...`: many agents in one process,
 * each a real stream, for tests, chaos and benchmarks. Prints one status line every
 * --report-every (JSON with --json) until SIGINT or SIGTERM.
 */
import { tuneForServing } from '../cli/server-tiering.js';
import '../cli/quiet-warnings.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadAgentYaml } from './agent-yaml.js';
import { parseEndpointList, positiveDurationArg } from '../cli/ctl/context.js';
import { Swarm } from './swarm.js';

tuneForServing(); // after the imports: see server-tiering.ts

function count(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 100_000) throw new InvalidArgumentError(`expected a whole number in [1, 100000], found ${JSON.stringify(text)}`);
  return n;
}

function seed(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number, found ${JSON.stringify(text)}`);
  return n;
}

const program = new Command()
  .name('agents')
  .description('Run many agents in one process, each with its own sync stream.')
  .requiredOption('--count <n>', 'how many agents', count)
  .requiredOption('--controllers <list>', 'host:port,... of the controllers')
  .option('--prefix <text>', 'agent ids are PREFIX0000...', 'agent-')
  .option('--config <file>', 'agent.yaml shared by every agent')
  // The default shown as the flag takes it: a duration with its unit.
  .addOption(new Option('--report-every <duration>', 'how often to print a status line').argParser(positiveDurationArg).default(5000, '5s'))
  .option('--json', 'status lines as JSON', false)
  .option('--seed <n>', 'seed of the agents\' back-off jitter', seed, 1)
  .parse();

const o = program.opts<{ count: number; controllers: string; prefix: string; config?: string; reportEvery: number; json: boolean; seed: number }>();
let controllers: string[];
try {
  controllers = parseEndpointList(o.controllers, '--controllers');
} catch (err) {
  process.stderr.write(`agents: ${(err as Error).message}\n`);
  process.exit(2);
}
const swarm = new Swarm({ count: o.count, controllers, prefix: o.prefix, seed: o.seed, ...(o.config ? { yaml: loadAgentYaml(o.config) } : {}) });
swarm.start();
const started = performance.now();
const report = (): void => {
  const s = swarm.stats();
  const t = Math.round((performance.now() - started) / 100) / 10;
  if (o.json) process.stdout.write(`${JSON.stringify({ t, ...s })}\n`);
  else process.stdout.write(`[${t}s] ${s.connected}/${s.agents} connected; versions ${JSON.stringify(s.versions)}; by controller ${JSON.stringify(s.controllers)}; pushes ${s.pushes} (${s.pushBytes} bytes)\n`);
};
const timer = setInterval(report, o.reportEvery);
const stop = (): void => {
  clearInterval(timer);
  report();
  void swarm.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
