/**
 * V8 optimizes a function once it has run bytecode worth its interrupt budget (66 KB by
 * default), a threshold tuned for web pages, where hot code runs thousands of times a second.
 * A controller's hot paths (a peer's message, a put, a push) run tens to hundreds of times a
 * second, so at a control plane's rates much of the path to a commit stayed in the interpreter
 * and baseline code: inline-cache misses and calls through builtins were a large share of a
 * follower's CPU. A budget of 2 KB lets those paths reach optimized code after a few seconds of
 * traffic (docs/benchmarks.md, "V8's tier-up").
 *
 * Each long-running binary sets it once its imports are evaluated, not before them: loading the
 * modules and protocol files runs code once, and optimizing it cost every start 0.4-0.5 s of CPU
 * more (about as much as the import itself) for nothing. Not later either: the start-up path
 * (storage, elections, the first appends) is the write path a new cluster's first seconds run
 * on, and set only once the binary served, a fresh cluster's first writes were slower
 * (docs/benchmarks.md, "Start-up CPU"). A function that already ran takes the new budget when
 * its current one runs out. An operator's own `node --interrupt-budget=N` wins.
 */
import v8 from 'node:v8';
import { codeCacheCheckpoint } from './code-cache-checkpoint.js';

export const SERVER_INTERRUPT_BUDGET = 2048;

/** V8 reads `--interrupt_budget` as `--interrupt-budget`; `--interrupt-budget-factor-...` is another flag. */
const OPERATOR_BUDGET = /^--interrupt[-_]budget(=|$)/;

/** The V8 flag to set, or null when the node command line already chose a budget. */
export function tieringFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((a) => OPERATOR_BUDGET.test(a))) return null;
  return `--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`;
}

/** Call once the imports are evaluated: from here on, code run at a server's rates tiers up early. */
export function tuneForServing(): void {
  // The last moment a code cache matches the flags the next start compiles under.
  codeCacheCheckpoint();
  const flag = tieringFlag(process.execArgv);
  if (flag !== null) v8.setFlagsFromString(flag);
}
