/**
 * The bundled binaries are what operators run (package.json "bin"). Each must be ASCII: V8 keeps
 * a script's source for the life of the process, and one wider character makes all of it a
 * two-byte string (build/bundle-bins.ts), twice the memory in every controller and agent. Each is
 * a small entry that reads NAME-main.cjs in pieces (src/cli/piecewise-load.ts), with its code cache.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CODE_CACHE_ENV, CODE_CACHE_SUFFIX } from '../../src/cli/code-cache.js';
import { START_THRESHOLD_BYTES } from '../../src/cli/piecewise-load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const PIECEWISE = new Set(['controller', 'ctl', 'agent']);
/** Reload on SIGHUP (src/cli/early-sighup.ts); ctl exits after one command. */
const HOLDS_SIGHUP = new Set(['controller', 'agent']);

/** The file holding a binary's code: the bundle its entry reads in pieces. */
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
    t.match(entry, `runBundledBinary("${name}", fileURLToPath(new URL("./${name}-main.cjs", import.meta.url)))`);
    // SIGHUP reloads a controller and rereads an agent's file: held from before the bundle
    // loads (src/cli/early-sighup.ts), or Node's default would kill a process still starting.
    const held = entry.indexOf('\nholdSighup();');
    if (HOLDS_SIGHUP.has(name)) t.ok(held > 0 && held < entry.indexOf('\nrunBundledBinary('), 'it holds SIGHUP before it loads the bundle');
    else t.equal(held, -1, 'it leaves SIGHUP to node: it reloads nothing');
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

// The build writes each binary's V8 code cache (src/cli/code-cache.ts) with this node; a start
// reads it instead of compiling (0.1 s of CPU a controller start, 0.05 s a ctl run).
for (const name of PIECEWISE) {
  void t.test(`${name} starts from the code cache the build wrote beside ${name}-main.cjs`, async (t) => {
    const rel = pkg.bin[name];
    if (rel === undefined) return t.fail(`package.json has no bin ${name}`);
    const cache = path.join(root, bundleOf(name, rel)) + CODE_CACHE_SUFFIX;
    t.ok(statSync(cache).size > 100_000, `${path.basename(cache)}: ${statSync(cache).size} bytes`);
    const run = spawnSync(process.execPath, [path.join(root, rel), '--version'], { env: { ...process.env, [CODE_CACHE_ENV]: 'report' }, encoding: 'utf8' });
    t.equal(run.status, 0);
    t.equal(run.stderr, `${name}: code cache accepted\n`, 'V8 took it');
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

// Copied or installed without its bundle, or beside one it cannot read, an entry printed node's
// stack trace (attack-34 H9): one line now, naming the file and the cause, exit 2.
for (const name of PIECEWISE) {
  void t.test(`${name}'s entry without a loadable ${name}-main.cjs says so in one line, exit 2`, async (t) => {
    const rel = pkg.bin[name];
    if (rel === undefined) return t.fail(`package.json has no bin ${name}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'bundled-entry-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const entry = path.join(dir, `${name}.js`);
    copyFileSync(path.join(root, rel), entry);
    const bundle = path.join(dir, `${name}-main.cjs`);
    const cases: ReadonlyArray<readonly [what: string, prepare: () => void, cause: RegExp]> = [
      ['missing', () => undefined, /ENOENT: no such file or directory/],
      // Unreadable even to root, as a file with mode 000 is not.
      ['a directory', () => mkdirSync(bundle), /EISDIR: illegal operation on a directory/],
      ['truncated', () => writeFileSync(bundle, '"use strict";\nfunction cut('), /SyntaxError: /],
    ];
    for (const [what, prepare, cause] of cases) {
      rmSync(bundle, { recursive: true, force: true });
      prepare();
      const run = spawnSync(process.execPath, [entry, '--version'], { encoding: 'utf8', timeout: 30_000 });
      t.equal(run.status, 2, `${what}: exit 2`);
      const lines = run.stderr.trimEnd().split('\n');
      t.equal(lines.length, 1, `${what}: one line: ${run.stderr}`);
      t.match(lines[0], `${name}: cannot load ${bundle}, the code ${name}.js runs (${name}-main.cjs beside it): `, `${what}: names the file`);
      t.match(lines[0], cause, `${what}: and the cause`);
      t.match(lines[0], /; install dist\/bin whole, each NAME\.js with its NAME-main\.cjs$/);
    }
  });
}

/** Loaded before a binary: says on stderr whenever a WebAssembly module is compiled. */
const WASM_WATCH = `const M = WebAssembly.Module;
WebAssembly.Module = function (...a) { process._rawDebug('WEBASSEMBLY COMPILED'); return new M(...a); };
const C = WebAssembly.compile;
WebAssembly.compile = (...a) => { process._rawDebug('WEBASSEMBLY COMPILED'); return C(...a); };
`;

// protobufjs loads the `long` package when it can, which compiles a WebAssembly module at load:
// 0.8 MB of the node binary's compiler resident in every process, for nothing (build/bundle-bins.ts).
void t.test('no binary compiles WebAssembly as it loads', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundled-bins-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const watch = path.join(dir, 'wasm-watch.mjs');
  writeFileSync(watch, WASM_WATCH);
  // The watch itself is checked: it reports a module the test compiles.
  const probe = spawnSync(process.execPath, ['--import', watch, '-e', 'new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))'], { encoding: 'utf8' });
  t.match(probe.stderr, /WEBASSEMBLY COMPILED/, 'the watch sees a compiled module');
  for (const [name, bin] of Object.entries(pkg.bin)) {
    const run = spawnSync(process.execPath, ['--import', watch, path.join(root, bin), '--help'], { encoding: 'utf8', timeout: 30_000 });
    t.equal(run.status, 0, `${name} --help exits 0`);
    t.notMatch(run.stderr, /WEBASSEMBLY COMPILED/, `${name} compiles no WebAssembly`);
  }
});
