/**
 * What the long-running binaries' entries (dist/bin/controller.js and agent.js, written by
 * build/bundle-bins.ts) run: NAME-main.cjs beside the entry, loaded in pieces
 * (./piecewise-load.ts). The entry alone, copied or installed without its bundle, or a bundle
 * that cannot be read (permissions, a directory, a truncated copy), is one line on stderr naming
 * the file and the cause, exit 2 as for any file the binary needs and cannot use (docs/reference.md,
 * exit codes), instead of node's stack trace. Errors of the bundle as it runs are its own.
 */
import path from 'node:path';
import { CODE_CACHE_ENV, codeCacheFile, writeCodeCache } from './code-cache.js';
import { CODE_CACHE_CHECKPOINT } from './code-cache-checkpoint.js';
import { loadBundle, type LoadedBundle } from './piecewise-load.js';

/** "ENOENT: no such file or directory", without the syscall and path node appends. */
function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return err.message.replace(/, \w+(?: '.*')?$/, '');
  return `${err.name}: ${err.message}`;
}

/** What the bundle's checkpoint does, when asked (CODE_CACHE_ENV): writes its code cache, or reports what the start did with it. */
function armCheckpoint(name: string, bundle: string, loaded: LoadedBundle): void {
  const asked = process.env[CODE_CACHE_ENV];
  if (asked !== 'write' && asked !== 'report') return;
  Reflect.set(globalThis, CODE_CACHE_CHECKPOINT, () => {
    if (asked === 'report') {
      process.stderr.write(`${name}: code cache ${loaded.cache}\n`);
      return;
    }
    // The cache only saves a compile: a binary that cannot write it says so and runs on (the build checks the file).
    try {
      writeCodeCache(bundle, loaded.digest, loaded.createCache());
    } catch (err) {
      process.stderr.write(`${name}: cannot write the code cache ${codeCacheFile(bundle)}: ${causeOf(err)}\n`);
    }
  });
}

export function runBundledBinary(name: string, bundle: string): void {
  let loaded: LoadedBundle;
  try {
    loaded = loadBundle(bundle);
  } catch (err) {
    process.stderr.write(
      `${name}: cannot load ${bundle}, the code ${name}.js runs (${path.basename(bundle)} beside it): ${causeOf(err)}; ` +
        `install dist/bin whole, each NAME.js with its NAME-main.cjs\n`,
    );
    process.exit(2);
  }
  armCheckpoint(name, bundle, loaded);
  loaded.run();
}
