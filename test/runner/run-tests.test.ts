/**
 * `npm test`'s runner (run-tests.ts) on small files written for the purpose: what passes, what
 * fails, and that a file which crashes, or exits 0 without running its tests, is a failure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const RUNNER = fileURLToPath(new URL('./run-tests.js', import.meta.url));
const TAP = import.meta.resolve('tap');

function fixtures(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-tests-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), body.replaceAll('TAP', JSON.stringify(TAP)));
  }
  return dir;
}

function run(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [RUNNER, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout };
}

void t.test('every file in its own process; the summary counts files and assertions; exit 0 only when all pass', (t) => {
  const dir = fixtures({
    'a/one.test.js': `import t from TAP; t.ok(true, 'one'); t.ok(true, 'two'); console.error('said on stderr');`,
    'b/two.test.js': `import t from TAP; t.equal(1, 1, 'three');`,
    'b/helper.js': `throw new Error('not a test file: never run');`,
  });
  const ok = run(['--jobs', '2', dir]);
  t.equal(ok.status, 0, 'exit 0');
  t.match(ok.stdout, /^TAP version 14\n1\.\.2\n/);
  t.match(ok.stdout, new RegExp(`^ok \\d - ${path.join(dir, 'a/one.test.js')} # time=\\d+ms$`, 'm'));
  t.match(ok.stdout, /^ {4}# stderr: said on stderr$/m, "a file's stderr stays with its output");
  t.match(ok.stdout, /^# files: 2 passed, 0 failed\n# \{ total: 3, pass: 3 \}$/m);
  t.notMatch(ok.stdout, /helper/, 'only *.test.js files are run from a directory');
  t.end();
});

void t.test('a failed assertion, a crash before the first test, and a file that never runs its tests all fail the run', (t) => {
  const dir = fixtures({
    'fails.test.js': `import t from TAP; t.equal(1, 2, 'one is two');`,
    'crashes.test.js': `throw new Error('boom before any test');`,
    'silent.test.js': `process.exit(0);`,
    'passes.test.js': `import t from TAP; t.ok(true);`,
  });
  const r = run([dir]);
  t.equal(r.status, 1);
  t.match(r.stdout, new RegExp(`^not ok \\d - ${path.join(dir, 'fails.test.js')} \\(exit code 1\\)`, 'm'));
  t.match(r.stdout, /^ {4}not ok 1 - one is two$/m, "the failing file's own report is kept");
  t.match(r.stdout, new RegExp(`^not ok \\d - ${path.join(dir, 'crashes.test.js')} \\(exit code 1\\)`, 'm'));
  t.match(r.stdout, /# stderr: Error: boom before any test/);
  t.match(r.stdout, new RegExp(`^not ok \\d - ${path.join(dir, 'silent.test.js')} \\(exited without printing its plan\\)`, 'm'));
  t.match(r.stdout, /^# files: 1 passed, 3 failed$/m);
  t.match(r.stdout, /^# \{ total: 2, pass: 1, fail: 1 \}$/m);
  t.end();
});

void t.test('--exclude leaves a file out; a usage error exits 2', (t) => {
  const dir = fixtures({ 'kept.test.js': `import t from TAP; t.ok(true);`, 'left.test.js': `import t from TAP; t.fail('must not run');` });
  const r = run(['--exclude', path.join(dir, 'left.test.js'), dir]);
  t.equal(r.status, 0, 'exit 0');
  t.match(r.stdout, /^1\.\.1$/m);
  t.equal(run(['--jobs', '0', dir]).status, 2);
  t.equal(run([path.join(dir, 'no-such-dir')]).status, 2, 'a path that does not exist');
  t.equal(run([]).status, 2);
  t.end();
});

void t.test('a file marked as waiting on the clock runs in a lane of its own beside --jobs others; with one job, alone', (t) => {
  // Each file says it started, then waits (5 s at most) until `want` files have: it passes only
  // if that many ran at once.
  const barrier = (name: string, want: number, mark: string): string =>
    `${mark}\nimport t from TAP; import fs from 'node:fs'; import path from 'node:path';
const dir = path.dirname(new URL(import.meta.url).pathname);
fs.writeFileSync(path.join(dir, 'started-${name}'), '');
const deadline = Date.now() + 5_000;
const started = () => fs.readdirSync(dir).filter((f) => f.startsWith('started-')).length;
while (started() < ${want} && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
t.ok(started() >= ${want}, '${want} files running at once');`;
  /** Runs files named `busy*` or `waits*` (marked), each waiting for all of them to run at once. */
  const runAtOnce = (names: readonly string[], jobs: string): { status: number | null; stdout: string } =>
    run(['--jobs', jobs, fixtures(Object.fromEntries(names.map((n) => [`${n}.test.js`, barrier(n, names.length, n.startsWith('waits') ? '// run-tests: waits (fixture)' : '')])))]);
  const r = runAtOnce(['busy1', 'busy2', 'waits'], '2');
  t.equal(r.status, 0, 'two lanes of busy files and one of waiting files: all three at once');
  t.match(r.stdout, /^# files: 3 passed, 0 failed$/m);
  t.equal(runAtOnce(['busy1', 'busy2', 'busy3'], '2').status, 1, 'without the mark, --jobs 2 runs two at a time');
  t.equal(runAtOnce(['busy1', 'waits'], '1').status, 1, 'with one job the waiting file gets no lane of its own');
  t.end();
});
