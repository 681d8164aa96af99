/**
 * The HTTP/2 fuzzer (h2-fuzz-run.ts) for a few fixed seeds, cheap enough for CI: a plaintext
 * controller takes six bursts, seeds 44 to 49 (reset floods of 50-300 streams, an agent's Sync
 * stream with a Mesh Apply that pushes to it, calls reset at every point, odd headers and
 * framing), and is still up, answers a status call after each and keeps its puts. A smoke test
 * of the whole port; round 17's crash has its own test (reset-before-served.test.ts), and the
 * native abort of burst seed 3 over TLS is replayed below.
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

// Burst seed 3 over TLS: one connection of ordinary calls, some reset, the socket then cut. Node
// destroyed the session from inside its own parsing and aborted the process (onread->IsFunction)
// in 2 of 3 replays before session-destroy-deferred.ts; replayed three times here.
void t.test('a TLS controller takes burst seed 3 (once a native abort) three times over', async (t) => {
  for (let replay = 1; replay <= 3; replay++) {
    const report = await fuzzController({ seed: 3, bursts: 1, tls: true });
    const abort = report.failure === null ? null : `${report.failure.kind}: ${/Assertion failed: .*|[^\n]*$/.exec(report.failure.detail)?.[0] ?? ''}`;
    t.equal(abort, null, `replay ${replay}: the controller stays up`);
  }
});
