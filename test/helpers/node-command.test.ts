/**
 * The product's processes start without tap's module hooks, whatever a test's own process runs
 * with, and keep the rest of NODE_OPTIONS.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { withoutTapHooks } from './node-command.js';

const PRINT = ['-e', 'process.stdout.write(process.env.NODE_OPTIONS ?? "")'];

function output(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', () => resolve(out));
  });
}

/**
 * Runs `code` (an ES module) the way tap's runner starts a test file: with its processinfo
 * loader in NODE_OPTIONS, whose spawn hook adds it to every child's NODE_OPTIONS. `npm test`
 * runs files without it (test/runner/run-tests.ts), `npx tap FILE` with it, so the premise is
 * set up here.
 */
function underTapLoader(code: string): Promise<string> {
  const loader = import.meta.resolve('@tapjs/processinfo/import');
  return output(process.execPath, ['--input-type=module', '-e', code], { ...process.env, NODE_OPTIONS: `--import=${loader}` });
}

void t.test('tap hooks a plain spawn; nodeCommand runs the child without the hook', async (t) => {
  const helper = import.meta.resolve('./node-command.js');
  const seen = await underTapLoader(`
    import { spawn } from 'node:child_process';
    import { nodeCommand } from ${JSON.stringify(helper)};
    const print = ${JSON.stringify(PRINT)};
    const out = (command, args) => new Promise((resolve) => {
      const p = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('exit', () => resolve(s));
    });
    const cmd = nodeCommand(print[0], print.slice(1));
    process.stdout.write(JSON.stringify({ plain: await out(process.execPath, print), clean: await out(cmd.command, cmd.args) }));
  `);
  const { plain, clean } = JSON.parse(seen) as { plain: string; clean: string };
  t.match(plain, /@tapjs\/processinfo/, 'a plain spawn carries tap’s loader (the premise of this helper)');
  t.notMatch(clean, /@tapjs/, `without it: ${JSON.stringify(clean)}`);
});

void t.test('withoutTapHooks keeps every other option, quoted or not', async (t) => {
  const tapImport = '"--import=file:///x/node_modules/@tapjs/processinfo/dist/esm/import.mjs"';
  t.equal(withoutTapHooks(`--max-old-space-size=512 ${tapImport} --enable-source-maps`), '--max-old-space-size=512 --enable-source-maps');
  t.equal(withoutTapHooks('"--import" "/tmp/mine.mjs" --trace-warnings'), '"--import" "/tmp/mine.mjs" --trace-warnings');
  t.equal(withoutTapHooks('--loader=file:///x/node_modules/@tapjs/processinfo/dist/esm/loader-legacy.mjs'), '');
  t.equal(withoutTapHooks(''), '');
});
