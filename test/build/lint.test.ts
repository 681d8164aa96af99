// run-tests: waits
/**
 * Lint is part of `npm test` (eslint.config.js: type-aware rules where they catch real bugs, no
 * `any` in src/). It ran beside the build before the first test, about 45 s of a CI's critical
 * path on two cores; here it runs as one file of the runner's waits lane, at a lower priority
 * (nice 10), so it takes mostly the CPU the busy lanes leave idle. `npm run lint` is the same
 * check at the command line.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const eslintPackage = createRequire(path.join(root, 'package.json')).resolve('eslint/package.json');
const ESLINT = path.join(path.dirname(eslintPackage), 'bin/eslint.js');
/** What `npm run lint` lints (package.json). */
const LINTED = ['src', 'test', 'bench', 'chaos', 'build'];
const LINT_PRIORITY = 10;

interface FileResult {
  readonly filePath: string;
  readonly errorCount: number;
  readonly warningCount: number;
  readonly messages: readonly { readonly line?: number; readonly column?: number; readonly ruleId: string | null; readonly message: string }[];
}

function lint(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // A young generation of 32 MB: eslint's typed program (2 GB resident) scavenges less, 8% less CPU.
    const child = spawn(process.execPath, ['--max-semi-space-size=32', ESLINT, '--format', 'json', ...LINTED], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, LINT_PRIORITY);
    } catch {
      // Gone already (it failed to start): its exit below says why.
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

void t.test(`eslint ${LINTED.join(' ')}: no problem`, async (t) => {
  const run = await lint();
  let results: FileResult[];
  try {
    results = JSON.parse(run.stdout) as FileResult[];
  } catch {
    t.fail(`eslint printed no report (exit ${String(run.code)}): ${run.stderr.trim() || run.stdout.slice(0, 2000)}`);
    return;
  }
  const problems = results.flatMap((r) =>
    r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line ?? 0}:${m.column ?? 0} ${m.message} (${m.ruleId ?? 'parse'})`),
  );
  t.equal(problems.length, 0, problems.length === 0 ? 'no error or warning' : `${problems.length} problems:\n${problems.join('\n')}`);
  t.equal(run.code, 0, `eslint exits 0${run.stderr.trim() === '' ? '' : `: ${run.stderr.trim()}`}`);
  // The premise: it linted the tree, not an empty selection (about 900 files when written).
  t.ok(results.length > 500, `${results.length} files linted`);
});
