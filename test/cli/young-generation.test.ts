/**
 * The binaries' young-generation cap (src/cli/young-generation.ts): V8 reads the semi-space
 * growth factor at run time, so a process that calls capYoungGeneration keeps its new space at
 * the cap under an allocation load that grows an uncapped one to V8's maximum; importing the
 * module alone changes nothing, and an operator's --max-semi-space-size wins. Each case runs in a
 * child node with the same allocation load: short tasks (as a server's are) that keep a few MB
 * of survivors, so the new space has reason to grow.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { growthFactorFor, operatorSizedYoungGeneration } from '../../src/cli/young-generation.js';
import { nodeCommand } from '../helpers/node-command.js';

const MODULE = fileURLToPath(new URL('../../src/cli/young-generation.js', import.meta.url));
const MB = 1024 * 1024;
const CAP_MB = 2;

/** The largest new space (both semi-spaces, MB) the child saw, and whether the cap was installed. */
function largestNewSpace(use: 'none' | 'imported' | 'capped', nodeFlags: readonly string[] = [], nodeOptions = ''): { readonly mb: number; readonly installed: boolean } {
  const script = `
    import v8 from 'node:v8';
    ${use === 'none' ? '' : `const { capYoungGeneration } = await import(${JSON.stringify(MODULE)});`}
    const installed = ${use === 'capped' ? `capYoungGeneration(${CAP_MB})` : 'false'};
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let keep = [];
    let largest = newSpace();
    for (let task = 0; task < 1500; task++) {
      for (let i = 0; i < 2000; i++) { keep.push({ a: i, b: 'x' + i, c: [i, i + 1] }); if (keep.length > 20000) keep = []; }
      largest = Math.max(largest, newSpace());
      await new Promise((r) => setImmediate(r));
    }
    console.log(JSON.stringify({ mb: largest / ${MB}, installed }));`;
  // Through `env`, so that NODE_OPTIONS reaches the child as given (node-command.ts).
  const cmd = nodeCommand('--input-type=module', ['-e', script], nodeFlags, { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${nodeOptions}` });
  const r = spawnSync(cmd.command, cmd.args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child node failed (${String(r.status)}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as { mb: number; installed: boolean };
}

void t.test('the factor: grow below the cap, hold at it', async (t) => {
  // A semi-space's usable capacity is a little under its size (page headers).
  t.equal(growthFactorFor(0.98 * MB, 4), 2, 'a 1 MB semi-space, cap 4 MB: grow');
  t.equal(growthFactorFor(1.97 * MB, 4), 2, '2 MB: grow once more');
  t.equal(growthFactorFor(3.94 * MB, 4), 1, '4 MB: at the cap');
  t.equal(growthFactorFor(15.7 * MB, 4), 1, 'past it (grown by one long task): hold');
});

void t.test("the node command line's own sizing is an operator's choice", async (t) => {
  t.notOk(operatorSizedYoungGeneration([]));
  t.notOk(operatorSizedYoungGeneration(['--interrupt-budget=2048', '--max-old-space-size=512']));
  t.ok(operatorSizedYoungGeneration(['--max-semi-space-size=16']));
  t.ok(operatorSizedYoungGeneration(['--max_semi_space_size=16']));
  t.ok(operatorSizedYoungGeneration(['--max-semi-space-size', '16']));
  t.ok(operatorSizedYoungGeneration(['--semi-space-growth-factor=4']));
});

void t.test('capped, the new space stops at the cap where V8 alone grows it to its maximum', async (t) => {
  const plain = largestNewSpace('none');
  const capped = largestNewSpace('capped');
  t.comment(`largest new space: ${plain.mb} MB with V8 defaults, ${capped.mb} MB capped at ${CAP_MB} MB a semi-space`);
  t.ok(capped.installed, 'the cap was installed');
  t.ok(capped.mb <= 2 * CAP_MB, `capped: ${capped.mb} MB, at most two ${CAP_MB} MB semi-spaces`);
  t.ok(plain.mb >= 4 * 2 * CAP_MB, `V8 alone: ${plain.mb} MB under the same load`);
});

void t.test('importing the module caps nothing', async (t) => {
  t.ok(largestNewSpace('imported').mb >= 4 * 2 * CAP_MB);
});

for (const where of ['command line', 'NODE_OPTIONS'] as const) {
  void t.test(`an operator's --max-semi-space-size wins (${where})`, async (t) => {
    const r = where === 'command line' ? largestNewSpace('capped', ['--max-semi-space-size=8']) : largestNewSpace('capped', [], '--max-semi-space-size=8');
    t.notOk(r.installed, 'nothing installed');
    t.ok(r.mb > 2 * CAP_MB && r.mb <= 16, `grew to the operator's 8 MB semi-spaces (${r.mb} MB), not to ${CAP_MB}`);
  });
}
