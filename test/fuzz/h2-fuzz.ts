/**
 * The HTTP/2 fuzzer's command line (not a test the suite runs):
 *   node dist/test/fuzz/h2-fuzz.js [--seed N] [--bursts N] [--tls | --member] [--controller-js FILE]
 * --member: mutual TLS with the peer certificate of c3, a member of c1's three that never runs,, two calls in three to the
 * peer port's RPCs (h2-peer-methods.ts); --tls: with an operator's certificate.
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
const member = process.argv.includes('--member');
const secure = member || process.argv.includes('--tls');
const quiet = process.argv.includes('--quiet');
console.log(`h2-fuzz: seed ${seed}, ${bursts} bursts, ${member ? "mutual TLS, the member c3's certificate" : secure ? "mutual TLS, an operator's certificate" : 'plaintext'}`);
const controllerJs = arg('controller-js');
const report = await fuzzController({ seed, bursts, tls: secure, member, log: quiet ? undefined : (l) => console.log(l), ...(controllerJs !== undefined ? { controllerJs } : {}) });
const { failure, ...figures } = report;
console.log(JSON.stringify(figures));
if (failure !== null) {
  console.log(`FAILURE at burst seed ${failure.seed} (${failure.kind}): ${failure.detail}\n${failure.ops.join('\n')}`);
  console.log(`replay: node dist/test/fuzz/h2-fuzz.js --seed ${failure.seed} --bursts 1${member ? ' --member' : secure ? ' --tls' : ''}`);
  process.exitCode = 1;
}
