/**
 * `node dist/test/agents/agents-sim-cli.js [--seeds N] [--start S] [--seed N [--trace]] [--driver | --lossy] [--fresh-units N]`: runs the agents'
 * fault simulation over a range of seeds (or replays one, printing what it broke); --driver runs
 * each controller's production HubDriver on simulated time instead of calling its hub directly;
 * --lossy also loses proposals and their answers now and then (agents-sim.ts, `lossy`);
 * --fresh-units N gives each pump N steps of push planning (fresh-plan-budget.ts): pushes wait for plans;
 * --skew MS gives the controllers wall clocks up to MS apart (one stepped back by NTP) and restarts
 * agents now and then (agents-sim.ts, `skewMs`; checked in agents-sim.test.ts at 1000 ms, seeds 1-100; 1-1000 and 1000000-1000299 pass at 1000 and 3000);
 * --version V runs the cluster at version V instead of the newest (0.9: claims not ordered by admission; 0.10: a claim
 * that says nothing of its admission not ordered; 0.11: services.agent_publish cannot be set, its changes refused;
 * 0.12: an apply that takes a squatter off answers unchanged; 0.13: every publish audits all its refusals);
 * --raise-from V starts the seeds that host nothing at V and raises them to the newest (or --version) mid-faults.
 */
import { DEFAULT_AGENTS_SIM, runAgentsSeed } from './agents-sim.js';

// Piped into `head`, the reader may leave first: that is not a failure.
process.stdout.on('error', () => process.exit(process.exitCode ?? 0));

function arg(name: string): number | null {
  const i = process.argv.indexOf(name);
  return i < 0 ? null : Number(process.argv[i + 1]);
}

const one = arg('--seed');
const freshUnits = arg('--fresh-units');
const skew = arg('--skew');
const versionAt = process.argv.indexOf('--version');
const version = versionAt < 0 ? undefined : process.argv[versionAt + 1];
const raiseFromAt = process.argv.indexOf('--raise-from');
const raiseFrom = raiseFromAt < 0 ? undefined : process.argv[raiseFromAt + 1];
const start = one ?? arg('--start') ?? 1;
const count = one !== null ? 1 : (arg('--seeds') ?? 1000);
let failures = 0;
const began = performance.now();
for (let seed = start; seed < start + count; seed++) {
  const mode = { driver: process.argv.includes('--driver') || process.argv.includes('--lossy'), lossy: process.argv.includes('--lossy'), ...(freshUnits === null ? {} : { freshUnitsPerPump: freshUnits }), ...(skew === null ? {} : { skewMs: skew }), ...(version === undefined ? {} : { version }), ...(raiseFrom === undefined ? {} : { raiseFrom }) };
  const r = await runAgentsSeed(seed, { ...DEFAULT_AGENTS_SIM, ...mode }, process.argv.includes('--trace') ? (line) => process.stdout.write(`${line}\n`) : null);
  if (r.violations.length > 0 || one !== null) {
    if (r.violations.length > 0) failures++;
    process.stdout.write(`seed ${seed} ${JSON.stringify(r.stats)}\n${r.violations.map((v) => `  ${v}`).join('\n')}\n`);
  }
}
process.stdout.write(`${count} seeds from ${start}: ${failures} failed, ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
process.exitCode = failures > 0 ? 1 : 0;
