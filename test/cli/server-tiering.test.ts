/**
 * The binaries' V8 tier-up (src/cli/server-tiering.ts): once a binary calls tuneForServing, a
 * function that a server runs at a control plane's rate reaches optimized code after tens of
 * calls, not a thousand, also when it already ran during start-up; importing the module alone
 * changes nothing (start-up code is not tuned); an operator's own --interrupt-budget is left
 * alone. Each case runs in a child node with synchronous optimization, so the count of calls is
 * exact and the same on every run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SERVER_INTERRUPT_BUDGET, tieringFlag } from '../../src/cli/server-tiering.js';

const MODULE = fileURLToPath(new URL('../../src/cli/server-tiering.js', import.meta.url));
const CALLS = 200;
/** Enough calls for V8's default budget (about 1,150 for this function). */
const LONG = 5000;

/**
 * How the child uses the module: not at all; imported only; imported and tuneForServing called
 * before the function runs; or called after the function already ran WARM_CALLS times, as code
 * run during start-up has.
 */
type Use = 'none' | 'imported' | 'tuned' | 'tuned-after-warm-up';
const WARM_CALLS = 100;

/** How many calls of a small function it took to reach TurboFan after the set-up (`limit` if it never did). */
function callsToOptimize(use: Use, nodeFlags: readonly string[] = [], limit = CALLS): number {
  const script = `
    ${use === 'none' ? '' : `const { tuneForServing } = await import(${JSON.stringify(MODULE)});`}
    function work(o) { let s = 0; for (const k of Object.keys(o)) s += o[k] * 2 + k.length; return s; }
    ${use === 'tuned-after-warm-up' ? `for (let i = 0; i < ${WARM_CALLS}; i++) work({ a: i, b: 2, c: 3 });` : ''}
    if (%GetOptimizationStatus(work) & 16) throw new Error('optimized during the warm-up already');
    ${use === 'tuned' || use === 'tuned-after-warm-up' ? 'tuneForServing();' : ''}
    let n = 0;
    for (; n < ${limit}; n++) { work({ a: n, b: 2, c: 3 }); if (%GetOptimizationStatus(work) & 16) break; }
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

void t.test('tuned, a function is hot after tens of calls, also one that ran during start-up; V8 alone needs more', async (t) => {
  const tuned = callsToOptimize('tuned');
  const plain = callsToOptimize('none', [], LONG);
  // A function that ran before finishes the budget it had, then takes the server's.
  const warm = callsToOptimize('tuned-after-warm-up', [], LONG);
  t.comment(`calls until optimized: ${tuned} tuned, ${WARM_CALLS} + ${warm} tuned after a warm-up, ${plain} with V8 defaults`);
  t.ok(tuned < CALLS / 2, `optimized after ${tuned} calls when tuned first`);
  t.ok(plain > CALLS && plain < LONG, `V8 alone optimized it after ${plain} calls`);
  t.ok(WARM_CALLS + warm < plain / 2, `optimized ${warm} calls after tuning, having run ${WARM_CALLS} times before: sooner than V8 alone`);
});

void t.test('importing the module tunes nothing: start-up code runs with V8 defaults', async (t) => {
  t.equal(callsToOptimize('imported'), CALLS);
});

void t.test("an operator's --interrupt-budget wins", async (t) => {
  t.equal(callsToOptimize('tuned', ['--interrupt-budget=67584']), CALLS);
});
