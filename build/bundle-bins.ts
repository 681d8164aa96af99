/**
 * Bundles the three binaries (controller, ctl, agent) from tsc's output into one file each under
 * dist/bin/, which package.json's "bin" names. Loading some 300 modules one by one was most of a
 * process's start-up: a `ctl` run took 0.5 s of CPU and a controller 1.5 s to its first leader;
 * bundled, 0.35 s and 1.0 s. The code is tsc's (type-checked, emitted as is); esbuild only joins
 * it. `node dist/src/cli/*.js` runs the same code unbundled.
 *
 * Left outside: classic-level (a native addon that finds its binary next to its own package). The
 * .proto files of ours are found by walking up to the package root, from dist/bin as from dist/src.
 *
 * The output is ASCII. V8 keeps a script's source for as long as the process runs (to compile
 * functions lazily), and one character above U+00FF anywhere makes it a two-byte string: a
 * single em dash in a comment esbuild kept (from a dependency) cost every controller 6.3 MB of
 * heap instead of 3.1. esbuild escapes strings, identifiers and regular expressions (charset
 * 'ascii'); what is left, in comments, is escaped here.
 *
 * Each binary is a CommonJS bundle beside a small ESM entry that reads it in 64 KB pieces
 * (src/cli/piecewise-load.ts): node's loader would read each into one buffer of its size, whose
 * release raises glibc's malloc thresholds to that size for the life of the process (it matters to
 * the long-running controller and agent). An entry that cannot load its bundle says so in one line
 * (src/cli/bundle-entry.ts). Each bundle's V8 code cache is written beside it by a start of its own
 * (src/cli/code-cache.ts): `ctl` too, run by scripts many times a minute, starts from it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { CODE_CACHE_ENV } from '../src/cli/code-cache.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Each loaded in pieces by a small entry of its name; the rest of the code is in NAME-main.cjs. */
const BINS = ['controller', 'ctl', 'agent'] as const;
const IMPORT_META_URL = '__bundleUrl';
/** Reloads on SIGHUP: its entry holds the signal while the bundle loads (src/cli/early-sighup.ts). */
const HOLDS_SIGHUP = new Set<string>(['controller', 'agent']);

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['classic-level'],
  charset: 'ascii',
  logLevel: 'warning',
  plugins: [zodEnglishOnly(), protobufWithoutLong()],
};

for (const name of BINS) {
  await build({
    ...common,
    entryPoints: [{ in: path.join(root, 'dist/src/cli', `${name}.js`), out: `${name}-main` }],
    outdir: path.join(root, 'dist/bin'),
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    // Module code is strict; so is the bundle. import.meta.url names the bundle, as it did.
    banner: { js: `"use strict";\nconst ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;` },
    define: { 'import.meta.url': IMPORT_META_URL },
  });
  await build({
    ...common,
    stdin: {
      contents: [
        `import { fileURLToPath } from 'node:url';`,
        ...(HOLDS_SIGHUP.has(name) ? [`import { holdSighup } from ${JSON.stringify(path.join(root, 'dist/src/cli/early-sighup.js'))};`, 'holdSighup();'] : []),
        `import { runBundledBinary } from ${JSON.stringify(path.join(root, 'dist/src/cli/bundle-entry.js'))};`,
        `runBundledBinary(${JSON.stringify(name)}, fileURLToPath(new URL('./${name}-main.cjs', import.meta.url)));`,
      ].join('\n'),
      resolveDir: root,
      sourcefile: `${name}-entry.js`,
    },
    outfile: path.join(root, 'dist/bin', `${name}.js`),
    format: 'esm',
    banner: { js: '#!/usr/bin/env node' },
  });
}

for (const file of BINS.flatMap((n) => [`${n}.js`, `${n}-main.cjs`]).map((f) => path.join(root, 'dist/bin', f))) {
  writeFileSync(file, asciiOnly(readFileSync(file, 'utf8')));
}

// Each binary's V8 code cache (src/cli/code-cache.ts), made by a start of its own with this
// node: `--version` runs the imports and stops after the checkpoint. Without NODE_OPTIONS: V8
// options there would be written into the cache, which every start without them refuses. Then a
// second start says whether V8 takes it (a cache of an earlier build is never taken: its key is
// that build's bytes).
for (const name of BINS) {
  const start = (mode: 'write' | 'report'): ReturnType<typeof spawnSync> => {
    const env: NodeJS.ProcessEnv = { ...process.env, [CODE_CACHE_ENV]: mode };
    delete env['NODE_OPTIONS'];
    return spawnSync(process.execPath, [path.join(root, 'dist/bin', `${name}.js`), '--version'], { env, encoding: 'utf8', timeout: 60_000 });
  };
  const written = start('write');
  const said = start('report');
  const why = (r: ReturnType<typeof spawnSync>): string => (r.error !== undefined ? r.error.message : `exit ${String(r.status)}: ${String(r.stderr).trim()}`);
  if (written.error !== undefined || written.status !== 0) throw new Error(`${name} --version could not write its code cache (${why(written)})`);
  if (said.error !== undefined || said.status !== 0 || String(said.stderr) !== `${name}: code cache accepted\n`) {
    throw new Error(`${name} does not start from the code cache it wrote (${why(said)})`);
  }
}

/**
 * zod re-exports its 60-odd locales as `z.locales`, which nothing here reads: they were 358 KB of
 * every binary's source, kept in each process's heap. Its messages stay English (zod configures
 * `en` itself), and `z.locales.en` still exists.
 */
function zodEnglishOnly(): Plugin {
  return {
    name: 'zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        args.importer.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`)
          ? { path: path.resolve(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        resolveDir: path.dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

/**
 * protobufjs represents 64-bit fields with the `long` package when it can load it, and `long`
 * compiles a WebAssembly module when it loads: 0.8 MB of the node binary's WebAssembly compiler
 * made resident in every process, for arithmetic nothing here does. Every message here is read
 * with `longs: Number` (src/transport/proto.ts), so without `long` protobufjs reads and writes the
 * same numbers through its own LongBits (test/transport/proto-longs.test.ts checks that the bytes
 * and the values are the same both ways).
 */
function protobufWithoutLong(): Plugin {
  return {
    name: 'protobuf-without-long',
    setup(b) {
      b.onResolve({ filter: /^long$/ }, (args) =>
        args.importer.includes(`${path.sep}node_modules${path.sep}protobufjs${path.sep}`) ? { path: 'long', namespace: 'no-long' } : undefined,
      );
      // protobufjs takes `long` only when the module has Long.isLong; null makes it use LongBits.
      b.onLoad({ filter: /.*/, namespace: 'no-long' }, () => ({ contents: 'module.exports = null;', loader: 'js' }));
    },
  };
}

/** Every UTF-16 unit above U+007F as a \uXXXX escape, which reads the same in a comment. */
function asciiOnly(source: string): string {
  return source.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
