/**
 * `npm run bench` refuses a mistyped number before it starts anything: a NaN or zero count would
 * measure nothing (or skip a part) and still print a table.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const BENCH_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/bench.js');

function bench(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BENCH_JS, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

const refused: [string[], RegExp][] = [
  [['--rounds', '0'], /--rounds: expected a whole number of at least 1, found "0"/],
  [['--idle-settle', 'abc'], /--idle-settle: expected a whole number of at least 0, found "abc"/],
  [['--warmup-changes', '2.5'], /--warmup-changes: expected a whole number of at least 0, found "2\.5"/],
  [['--changes', ''], /--changes: expected a whole number of at least 1, found ""/],
  [['--scale-clients', '1,x'], /--scale-clients: expected positive whole numbers separated by commas, found "1,x"/],
  [['--only', 'put-2'], /--only: unknown part "put-2"/],
];

for (const [args, message] of refused) {
  void t.test(`bench ${args.join(' ')} is refused before it starts`, async (t) => {
    const r = bench(...args);
    t.equal(r.status, 1, 'exit status 1');
    t.match(r.stderr, message, 'the error names the option and the value');
    t.notMatch(r.stderr, /bench \[/, 'no part started');
  });
}
