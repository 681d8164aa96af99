/**
 * V8's young generation starts at two 1 MB semi-spaces and doubles, whenever enough of it
 * survives a scavenge, up to two 16 MB ones, which a server then keeps. A controller serving a
 * thousand agents (a ping a second each) grew it that far and held it, so its resident memory
 * moved by 10-20 MB between two samples of the same state, and the benchmark's memory per agent
 * read 40-54 KB; capped at 4 MB a semi-space, 16-23 KB, with the same fan-out time. Under
 * thousands of puts a second the cap costs 6-9% of the throughput for about 16 MB less per
 * member (docs/benchmarks.md, "The young generation capped from inside"); a control plane
 * lives at far lower rates.
 *
 * The Node option that caps it (`--max-semi-space-size`) only works on the command line: V8 sizes
 * the heap when it starts. What V8 does read at run time is the growth factor: Node warns that a
 * flag changed after start may do nothing or misbehave, but this one is a plain number that V8
 * reads at each growth, on the main thread, where it is set here. So each binary
 * lets the new space double up to the cap and then sets the factor to 1; if V8 shrinks it again
 * (a quiet process's memory reducer does), growth is allowed again up to the cap. It is checked
 * after every collection, which the event loop reports between tasks, so one long task can grow
 * it past the cap; it then stays there until V8 shrinks it. An operator's own
 * `--max-semi-space-size` or `--semi-space-growth-factor` (on the node command line or in
 * NODE_OPTIONS) wins.
 */
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { operatorNodeOptions } from './node-options.js';

export const SERVER_SEMI_SPACE_MB = 4;

const OPERATOR_CHOICE = /^--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(=|$)/;
const V8_GROWTH_FACTOR = 2;
const MB = 1024 * 1024;

/**
 * The growth factor for a semi-space of `semiSpaceBytes` capacity: grow while doubling stays
 * within the cap, hold from there.
 */
export function growthFactorFor(semiSpaceBytes: number, semiSpaceMB: number): 1 | 2 {
  return V8_GROWTH_FACTOR * semiSpaceBytes <= semiSpaceMB * MB ? V8_GROWTH_FACTOR : 1;
}

/** True when the operator's node options already sized the young generation. */
export function operatorSizedYoungGeneration(nodeOptions: readonly string[]): boolean {
  return nodeOptions.some((a) => OPERATOR_CHOICE.test(a));
}

/**
 * One semi-space's capacity (less its pages' headers). Not the new space's `space_size`: that is
 * what is committed, and a full collection may uncommit the idle semi-space without shrinking
 * the capacity V8 would double next.
 */
function semiSpaceBytes(): number {
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return s === undefined ? 0 : s.space_used_size + s.space_available_size;
}

/**
 * Keeps the young generation at `semiSpaceMB` per semi-space from now on, unless the operator's
 * node options chose otherwise (then it does nothing and says so).
 */
export function capYoungGeneration(semiSpaceMB = SERVER_SEMI_SPACE_MB, nodeOptions: readonly string[] = operatorNodeOptions()): boolean {
  if (operatorSizedYoungGeneration(nodeOptions)) return false;
  let factor: number = V8_GROWTH_FACTOR;
  const check = (): void => {
    const next = growthFactorFor(semiSpaceBytes(), semiSpaceMB);
    if (next === factor) return;
    factor = next;
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`);
  };
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
  check();
  return true;
}
