/**
 * The long-running binaries' loader (src/cli/piecewise-load.ts): a bundle read in pieces under
 * glibc's first mmap threshold reads back byte for byte across the pieces' edges, runs as a
 * CommonJS module with its own require and file name, and its stack traces name its lines; its V8
 * code cache (src/cli/code-cache.ts) is used only for the bytes it was written for.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { CODE_CACHE_ENV, codeCacheFile, readCodeCache, writeCodeCache } from '../../src/cli/code-cache.js';
import { loadBundle, PIECE_BYTES, readInPieces, runPiecewise } from '../../src/cli/piecewise-load.js';

const GLIBC_FIRST_MMAP_THRESHOLD = 128 * 1024;

function tempFile(t: Test, name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'piecewise-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

void t.test('a piece stays under the threshold whose release would raise it', async (t) => {
  t.ok(PIECE_BYTES < GLIBC_FIRST_MMAP_THRESHOLD, `${PIECE_BYTES} < ${GLIBC_FIRST_MMAP_THRESHOLD}`);
});

void t.test('the text reads back whole across the pieces', async (t) => {
  // Three pieces and a part, with a line ending on each piece's last byte.
  const line = 'x'.repeat(PIECE_BYTES / 4 - 1) + '\n';
  const text = line.repeat(13) + 'tail';
  const file = tempFile(t, 'text.cjs', text);
  t.equal(readInPieces(file), text);
  t.equal(readInPieces(tempFile(t, 'empty.cjs', '')), '');
});

void t.test('the bundle runs as a CommonJS module, and its stack traces name it', async (t) => {
  const padding = `// ${'p'.repeat(100)}\n`.repeat(2000); // past several pieces
  const source = [
    '#!/usr/bin/env node',
    '"use strict";',
    padding,
    "const path = require('node:path');",
    'module.exports = { file: __filename, dir: __dirname, base: path.basename(__filename), strict: (function () { return this === undefined; })(),',
    '  stack: new Error("here").stack };',
  ].join('\n');
  const file = tempFile(t, 'bundle-main.cjs', source);
  const out = runPiecewise(file) as { file: string; dir: string; base: string; strict: boolean; stack: string };
  t.equal(out.file, file);
  t.equal(out.dir, path.dirname(file));
  t.equal(out.base, 'bundle-main.cjs', 'require() works');
  t.equal(out.strict, true, 'a "use strict" bundle is strict');
  const line = source.split('\n').findIndex((l) => l.includes('new Error')) + 1;
  t.match(out.stack, `${file}:${line}:`, `the stack names line ${line} of the file`);
});

/** A bundle's source whose export says where it runs: its strictness, a stack from its second line and from a later line. */
function probeBundle(): string {
  return [
    '#!/usr/bin/env node',
    '"use strict"; const first = new Error("first line").stack.split("\\n")[1].trim();',
    `// ${'p'.repeat(100)}`,
    'module.exports = { strict: (function () { return this === undefined; })(), first, later: new Error("later").stack.split("\\n")[1].trim(), answer: [1, 2, 3].map((x) => x * 7).join(",") };',
  ].join('\n');
}

interface ProbeRun {
  readonly cache: string;
  readonly digest: string;
  readonly exports: { strict: boolean; first: string; later: string; answer: string };
}

const LOADER = new URL('../../src/cli/piecewise-load.js', import.meta.url).href;
const CACHE = new URL('../../src/cli/code-cache.js', import.meta.url).href;

/**
 * Loads and runs `file` in a process of its own (V8 keeps what it compiled for the life of a
 * process, so a second load here would not read the cache at all); `write`: then writes its cache.
 */
function loadApart(file: string, write = false): ProbeRun {
  const code = [
    `const { loadBundle } = await import(${JSON.stringify(LOADER)});`,
    `const { writeCodeCache } = await import(${JSON.stringify(CACHE)});`,
    `const b = loadBundle(${JSON.stringify(file)});`,
    'const exports = b.run();',
    write ? `writeCodeCache(${JSON.stringify(file)}, b.digest, b.createCache());` : '',
    'process.stdout.write(JSON.stringify({ cache: b.cache, digest: b.digest, exports }));',
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the load failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as ProbeRun;
}

void t.test('a bundle runs from the code cache written for its bytes, and as it runs without one', async (t) => {
  const source = probeBundle();
  const file = tempFile(t, 'cached-main.cjs', source);
  const cold = loadApart(file, true);
  t.equal(cold.cache, 'absent', 'no cache beside it yet');
  t.equal(cold.exports.answer, '7,14,21');
  t.equal(cold.exports.strict, true, 'the "use strict" after the #! line makes it strict');
  const column = source.split('\n')[1]!.indexOf('new Error') + 1;
  t.equal(cold.exports.first, `at ${file}:2:${column}`, `a stack names the file's own line and column (2:${column})`);
  t.match(cold.exports.later, `${file}:4:`, 'and its later lines');
  t.ok(fs.statSync(codeCacheFile(file)).size > 0, 'the cache was written beside it');
  const warm = loadApart(file);
  t.equal(warm.cache, 'accepted', 'a new process: V8 takes the cache');
  t.strictSame(warm.exports, cold.exports, 'and the bundle runs from it as it did without');
});

void t.test("a cache of another bundle's bytes is not given to V8, and one V8 refuses costs only the compile", async (t) => {
  const source = probeBundle();
  const file = tempFile(t, 'other-main.cjs', source);
  const first = loadApart(file, true);
  // Same length, other bytes: V8's own check (its version, flags and the source's length) passes
  // such a cache, and runs the old bytecode as the new code.
  const changed = source.replace('x * 7', 'x * 8');
  t.equal(changed.length, source.length);
  fs.writeFileSync(file, changed);
  const after = loadApart(file);
  t.not(after.digest, first.digest);
  t.equal(after.cache, 'absent', 'keyed by the bytes: the old cache is not used');
  t.equal(after.exports.answer, '8,16,24', 'the new code runs');
  // A cache for these bytes whose data V8 cannot use (another node, a damaged file).
  writeCodeCache(file, after.digest, Buffer.from('not a code cache'.repeat(64)));
  const refused = loadApart(file);
  t.equal(refused.cache, 'rejected');
  t.equal(refused.exports.answer, '8,16,24', 'it compiles and runs all the same');
  t.equal(readCodeCache(file, 'f'.repeat(64)), null, 'a cache read for another digest is none');
  fs.writeFileSync(codeCacheFile(file), 'raft-controller v8 code cache 1\n' + after.digest + '\n');
  t.equal(readCodeCache(file, after.digest), null, 'nor is a header of another format');
});

void t.test('a cache written by another node, or damaged, is not given to V8', async (t) => {
  const file = tempFile(t, 'node-main.cjs', probeBundle());
  // Written here: only a read needs a process of its own.
  const first = loadBundle(file);
  first.run();
  writeCodeCache(file, first.digest, first.createCache());
  const data = readCodeCache(file, first.digest);
  if (!Buffer.isBuffer(data)) return t.fail(`the cache just written reads back as ${String(data)}`);
  // V8 copies cached data that is not 8-byte aligned, a 1.4 MB block for the controller.
  t.equal(data.byteOffset % 8, 0, 'the data starts aligned in its buffer');
  // V8's version check leaves out node's own patches on it (process.versions.v8's -node.N).
  writeCodeCache(file, first.digest, data, 'node v20.0.0-other x64');
  const other = loadApart(file);
  t.equal(other.cache, 'rejected', 'one of another node is refused');
  t.equal(other.exports.answer, '7,14,21', 'and the bundle compiles and runs');
  // V8 checks no checksum of the data: one bit changed was accepted, and ran or crashed the process.
  const damaged = Buffer.from(data);
  damaged[damaged.length >> 1] = damaged[damaged.length >> 1]! ^ 1;
  writeCodeCache(file, first.digest, data);
  const cache = fs.readFileSync(codeCacheFile(file));
  damaged.copy(cache, cache.length - damaged.length);
  fs.writeFileSync(codeCacheFile(file), cache);
  const broken = loadApart(file);
  t.equal(broken.cache, 'rejected', 'a damaged one is refused');
  t.equal(broken.exports.answer, '7,14,21');
});

const ENTRY = new URL('../../src/cli/bundle-entry.js', import.meta.url).href;

void t.test('a binary asked to write its code cache where it cannot says so in one line and runs on', async (t) => {
  // The bundle calls the checkpoint itself, as tuneForServing does (src/cli/code-cache-checkpoint.ts).
  const file = tempFile(t, 'unwritable-main.cjs', "globalThis[Symbol.for('raft-controller.code-cache-checkpoint')](); process.stdout.write('ran on');");
  fs.mkdirSync(codeCacheFile(file)); // where the cache would be renamed to
  const code = `const { runBundledBinary } = await import(${JSON.stringify(ENTRY)}); runBundledBinary('probe', ${JSON.stringify(file)});`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, [CODE_CACHE_ENV]: 'write' } });
  t.equal(run.status, 0, 'exit 0');
  t.equal(run.stdout, 'ran on', 'the bundle ran past the checkpoint');
  t.equal(run.stderr, `probe: cannot write the code cache ${codeCacheFile(file)}: EISDIR: illegal operation on a directory\n`, 'one line on stderr');
});
