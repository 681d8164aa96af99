/**
 * The long-running binaries' loader (src/cli/piecewise-load.ts): a bundle read in pieces under
 * glibc's first mmap threshold reads back byte for byte across the pieces' edges, runs as a
 * CommonJS module with its own require and file name, and its stack traces name its lines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { PIECE_BYTES, readInPieces, runPiecewise } from '../../src/cli/piecewise-load.js';

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
