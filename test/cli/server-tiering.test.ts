/**
 * The binaries' V8 tier-up (src/cli/server-tiering.ts): a function that a server runs at a
 * control plane's rate reaches optimized code after tens of calls, not a thousand, and an
 * operator's own --interrupt-budget is left alone. Each case runs in a child node with
 * synchronous optimization, so the count of calls is exact and the same on every run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SERVER_INTERRUPT_BUDGET, tieringFlag } from '../../src/cli/server-tiering.js';

const MODULE = fileURLToPath(new URL('../../src/cli/server-tiering.js', import.meta.url));
const CALLS = 200;

/** How many calls of a small function it took to reach TurboFan (CALLS if it never did). */
function callsToOptimize(importTiering: boolean, nodeFlags: readonly string[] = []): number {
  const script = `
    ${importTiering ? `await import(${JSON.stringify(MODULE)});` : ''}
    function work(o) { let s = 0; for (const k of Object.keys(o)) s += o[k] * 2 + k.length; return s; }
    let n = 0;
    for (; n < ${CALLS}; n++) { work({ a: n, b: 2, c: 3 }); if (%GetOptimizationStatus(work) & 16) break; }
    console.log(n);`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', ...nodeFlags, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`child node failed (${String(r.status)}): ${r.stderr}`);
  return Number(r.stdout.trim());
}

void t.test('the flag is the server budget unless the command line chose one', async (t) => {
  t.equal(tieringFlag([]), `--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`);
  t.equal(tieringFlag(['--max-semi-space-size=4']), `--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`);
  t.equal(tieringFlag(['--interrupt-budget=67584']), null);
  t.equal(tieringFlag(['--interrupt-budget', '67584']), null);
  t.equal(tieringFlag(['--interrupt_budget=67584']), null);
  t.equal(tieringFlag(['--interrupt-budget-factor-for-feedback-allocation=8']), `--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`, 'another flag');
});

void t.test('importing it makes a function hot after tens of calls; V8 alone needs more', async (t) => {
  const tuned = callsToOptimize(true);
  const plain = callsToOptimize(false);
  t.comment(`calls until optimized: ${tuned} with the module, ${plain} without (limit ${CALLS})`);
  t.ok(tuned < CALLS / 2, `optimized after ${tuned} calls with the module`);
  t.equal(plain, CALLS, 'not optimized within the limit with V8 defaults');
});

void t.test("an operator's --interrupt-budget wins", async (t) => {
  t.equal(callsToOptimize(true, ['--interrupt-budget=67584']), CALLS);
});
