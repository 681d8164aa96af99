/**
 * The product's processes start without tap's module hooks, whatever a test's own process runs
 * with, and keep the rest of NODE_OPTIONS.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { nodeCommand, withoutTapHooks } from './node-command.js';

const PRINT = ['-e', 'process.stdout.write(process.env.NODE_OPTIONS ?? "")'];

function output(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', () => resolve(out));
  });
}

void t.test('tap hooks a plain spawn; nodeCommand runs the child without the hook', async (t) => {
  // The premise: under tap, a child spawned plainly gets the processinfo loader.
  const plain = await output(process.execPath, PRINT);
  t.match(plain, /@tapjs\/processinfo/, 'a plain spawn carries tap’s loader (the premise of this helper)');
  const cmd = nodeCommand(PRINT[0]!, PRINT.slice(1));
  const clean = await output(cmd.command, cmd.args);
  t.notMatch(clean, /@tapjs/, `without it: ${JSON.stringify(clean)}`);
});

void t.test('withoutTapHooks keeps every other option, quoted or not', async (t) => {
  const tapImport = '"--import=file:///x/node_modules/@tapjs/processinfo/dist/esm/import.mjs"';
  t.equal(withoutTapHooks(`--max-old-space-size=512 ${tapImport} --enable-source-maps`), '--max-old-space-size=512 --enable-source-maps');
  t.equal(withoutTapHooks('"--import" "/tmp/mine.mjs" --trace-warnings'), '"--import" "/tmp/mine.mjs" --trace-warnings');
  t.equal(withoutTapHooks('--loader=file:///x/node_modules/@tapjs/processinfo/dist/esm/loader-legacy.mjs'), '');
  t.equal(withoutTapHooks(''), '');
});
