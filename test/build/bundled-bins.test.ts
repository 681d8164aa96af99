/**
 * The bundled binaries are what operators run (package.json "bin"). Each must be ASCII: V8 keeps
 * a script's source for the life of the process, and one wider character makes all of it a
 * two-byte string (build/bundle-bins.ts), twice the memory in every controller and agent. The
 * long-running ones are a small entry that reads NAME-main.cjs in pieces (src/cli/piecewise-load.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { START_THRESHOLD_BYTES } from '../../src/cli/piecewise-load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const PIECEWISE = new Set(['controller', 'agent']);

/** The file holding a binary's code: its bundle, or the bundle its entry reads in pieces. */
function bundleOf(name: string, rel: string): string {
  return PIECEWISE.has(name) ? rel.replace(/\.js$/, '-main.cjs') : rel;
}

for (const name of PIECEWISE) {
  void t.test(`${name}'s entry reads ${name}-main.cjs in pieces`, async (t) => {
    const rel = pkg.bin[name];
    if (rel === undefined) return t.fail(`package.json has no bin ${name}`);
    const entry = readFileSync(path.join(root, rel), 'utf8');
    t.ok(entry.length < 10_000, `${rel} is a small entry, ${entry.length} characters`);
    t.match(entry, /^#!\/usr\/bin\/env node\n/, 'it runs as a program');
    t.match(entry, `runPiecewise(fileURLToPath(new URL("./${name}-main.cjs", import.meta.url)))`);
  });

  // V8 sizes its line ends' scratch vector at a quarter of the source's length (length / 16 ints),
  // freed after the first stack trace: above the threshold set at start, it would raise glibc's again.
  void t.test(`${name}-main.cjs's line ends stay under the malloc threshold set at start`, async (t) => {
    const rel = pkg.bin[name];
    if (rel === undefined) return t.fail(`package.json has no bin ${name}`);
    const length = readFileSync(path.join(root, bundleOf(name, rel)), 'utf8').length;
    t.ok(length / 4 < START_THRESHOLD_BYTES, `${Math.round(length / 4)} < ${START_THRESHOLD_BYTES} bytes`);
  });
}

for (const [name, bin] of Object.entries(pkg.bin)) {
  const rel = bundleOf(name, bin);
  void t.test(`${name} (${rel}) is an ASCII bundle`, async (t) => {
    const source = readFileSync(path.join(root, rel), 'utf8');
    t.ok(source.length > 100_000, `${rel} is the bundle, ${source.length} characters`);
    const wide = source.search(/[\u0080-\uffff]/);
    t.equal(wide, -1, wide === -1 ? 'no character above U+007F' : `a wide character at ${wide}: ${JSON.stringify(source.slice(Math.max(0, wide - 40), wide + 10))}`);
  });
}

for (const [name, bin] of Object.entries(pkg.bin)) {
  const rel = bundleOf(name, bin);
  void t.test(`${name} (${rel}) carries zod's English messages only`, async (t) => {
    const source = readFileSync(path.join(root, rel), 'utf8');
    const locales = [...new Set(source.match(/node_modules\/zod\/v4\/locales\/[\w-]+\.js/g) ?? [])];
    t.ok(locales.every((l) => l.endsWith('/en.js')), `zod locales bundled: ${locales.length === 0 ? 'none' : locales.join(', ')}`);
  });
}
