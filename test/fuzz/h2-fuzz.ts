/**
 * The HTTP/2 fuzzer's command line (not a test the suite runs):
 *   node dist/test/fuzz/h2-fuzz.js [--seed N] [--bursts N] [--tls] [--controller-js FILE]
 * Starts a one-member controller, sends `bursts` seeded bursts (h2-burst.ts) and checks it after
 * each (h2-fuzz-run.ts). Prints the seed first; a failure prints its burst's seed and ops, and
 * `--seed <that> --bursts 1` replays it. Exit code 1 on a failure.
 */
import { fuzzController } from './h2-fuzz-run.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

// A fixed default, as the simulations' CLIs have: a bare run is the same run every time; --seed picks another.
const seed = Number(arg('seed') ?? 1);
const bursts = Number(arg('bursts') ?? 50);
const secure = process.argv.includes('--tls');
const quiet = process.argv.includes('--quiet');
console.log(`h2-fuzz: seed ${seed}, ${bursts} bursts, ${secure ? 'TLS' : 'plaintext'}`);
const controllerJs = arg('controller-js');
const report = await fuzzController({ seed, bursts, tls: secure, log: quiet ? undefined : (l) => console.log(l), ...(controllerJs !== undefined ? { controllerJs } : {}) });
const { failure, ...figures } = report;
console.log(JSON.stringify(figures));
if (failure !== null) {
  console.log(`FAILURE at burst seed ${failure.seed} (${failure.kind}): ${failure.detail}\n${failure.ops.join('\n')}`);
  console.log(`replay: node dist/test/fuzz/h2-fuzz.js --seed ${failure.seed} --bursts 1${secure ? ' --tls' : ''}`);
  process.exitCode = 1;
}
