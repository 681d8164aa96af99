/**
 * The HTTP/2 fuzzer (h2-fuzz-run.ts) for a few fixed seeds, cheap enough for CI: a plaintext
 * controller takes six bursts, seeds 44 to 49 (reset floods of 50-300 streams, an agent's Sync
 * stream with a Mesh Apply that pushes to it, calls reset at every point, odd headers and
 * framing), and is still up, answers a status call after each and keeps its puts. A smoke test
 * of the whole port, not a reproduction: round 17's crash has its own (reset-before-served.test.ts).
 * Longer runs:
 * `node dist/test/fuzz/h2-fuzz.js --seed N --bursts N [--tls]` (docs/security.md, "Fuzzing").
 */
import t from 'tap';
import { fuzzController } from './h2-fuzz-run.js';

void t.test('a controller takes fuzz bursts 44-49 and stays up, responsive and consistent', async (t) => {
  const report = await fuzzController({ seed: 44, bursts: 6, tls: false, putEvery: 2 });
  t.equal(report.failure, null, `no failure: ${JSON.stringify(report.failure)}`);
  t.equal(report.bursts, 6, 'every burst sent');
  t.ok(report.frames > 0, `the controller answered on the fuzzed connections (${report.frames} frames)`);
  t.equal(report.puts, 3, 'every put acknowledged and read back');
});
