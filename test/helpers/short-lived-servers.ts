/**
 * The node options tests start controllers and agents with: V8's own tier-up budget instead of
 * the 2 KB the binaries set for themselves (src/cli/server-tiering.ts; an operator's
 * `--interrupt-budget` wins, docs/deploy.md). The binaries' budget pays for itself in a server
 * that runs for hours: its hot paths reach optimized code within seconds. A test's controllers
 * live for seconds to a minute, and on 2 cores the optimizing compiler's work in those seconds
 * was most of what they cost: a 3-member cluster at the tests' timing took 9.9 s of CPU in its
 * first 30 s with the binaries' budget and 7.9 s with V8's (12 s more idle after that: 0.3 s
 * more with V8's). `npm test` is CPU-bound, so that was about a fifth of its e2e files' time.
 * Benchmarks and the chaos harness run the binaries as shipped.
 */
export const SHORT_LIVED_SERVER_NODE_ARGS: readonly string[] = ['--interrupt-budget=67584'];
