/**
 * The agents' fault simulation (agents-sim.ts) over fixed seeds: every seed must keep the rules.
 * A failure names its seed; `node dist/test/agents/agents-sim-cli.js --seed N` replays it.
 */
import t from 'tap';
import { runAgentsSeed } from './agents-sim.js';

const FIRST = 1;
const SEEDS = 300;

void t.test(`agents under faults keep the rules, seeds ${FIRST}-${FIRST + SEEDS - 1}`, async (t) => {
  const totals = { changes: 0, pushes: 0, nacks: 0, breaks: 0, deaths: 0, quorumLosses: 0, lags: 0, hangs: 0, halfOpens: 0 };
  const failed: string[] = [];
  for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
    const r = runAgentsSeed(seed);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k];
    if (r.violations.length > 0) failed.push(`seed ${seed}:\n  ${r.violations.slice(0, 5).join('\n  ')}`);
  }
  t.same(failed, [], 'no seed broke a rule');
  t.comment(`over ${SEEDS} seeds: ${JSON.stringify(totals)}`);
  // The schedule must exercise what it claims to: each fault and NACKs, in numbers.
  t.ok(totals.deaths >= SEEDS / 2, `controllers died ${totals.deaths} times`);
  t.ok(totals.quorumLosses >= SEEDS / 3, `controllers lost their quorum ${totals.quorumLosses} times`);
  t.ok(totals.lags >= SEEDS / 2, `controllers lagged ${totals.lags} times`);
  t.ok(totals.breaks >= SEEDS * 4, `streams broke ${totals.breaks} times`);
  t.ok(totals.nacks >= SEEDS / 5, `agents NACKed ${totals.nacks} versions`);
  t.ok(totals.hangs >= SEEDS / 2, `agents hung ${totals.hangs} times`);
  t.ok(totals.halfOpens >= SEEDS / 2, `agents left ${totals.halfOpens} streams half-open`);
});
