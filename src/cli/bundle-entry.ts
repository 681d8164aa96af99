/**
 * What the long-running binaries' entries (dist/bin/controller.js and agent.js, written by
 * build/bundle-bins.ts) run: NAME-main.cjs beside the entry, loaded in pieces
 * (./piecewise-load.ts). The entry alone, copied or installed without its bundle, or a bundle
 * that cannot be read (permissions, a directory, a truncated copy), is one line on stderr naming
 * the file and the cause, exit 2 as for any file the binary needs and cannot use (docs/reference.md,
 * exit codes), instead of node's stack trace. Errors of the bundle as it runs are its own.
 */
import path from 'node:path';
import { loadPiecewise } from './piecewise-load.js';

/** "ENOENT: no such file or directory", without the syscall and path node appends. */
function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return err.message.replace(/, \w+(?: '.*')?$/, '');
  return `${err.name}: ${err.message}`;
}

export function runBundledBinary(name: string, bundle: string): void {
  let run: () => unknown;
  try {
    run = loadPiecewise(bundle);
  } catch (err) {
    process.stderr.write(
      `${name}: cannot load ${bundle}, the code ${name}.js runs (${path.basename(bundle)} beside it): ${causeOf(err)}; ` +
        `install dist/bin whole, each NAME.js with its NAME-main.cjs\n`,
    );
    process.exit(2);
  }
  run();
}
