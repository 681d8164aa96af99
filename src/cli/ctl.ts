#!/usr/bin/env node
/** The operator CLI; see `ctl --help` and docs/reference.md ("ctl commands"). */
import './quiet-warnings.js';
import { codeCacheCheckpoint } from './code-cache-checkpoint.js';
import { processIo, runCtl } from './ctl/program.js';
import { outputFailed } from './stdout-writer.js';

// `ctl audit --follow | head -1`: a closed pipe ends the run quietly instead of with a stack trace.
// Any other failure to write the output (`ctl kv get k > /dev/full`: ENOSPC) is the command's
// failure, said in one line (exit 1); it was a stack trace. A regular file is written by
// stdout-writer.ts, which also catches a disk that fills mid-write.
process.stdout.on('error', (err: NodeJS.ErrnoException) => outputFailed(err));

async function main(): Promise<void> {
  // ctl changes no V8 flag: its code cache is written once the imports are evaluated (code-cache.ts).
  codeCacheCheckpoint();
  const code = await runCtl(process.argv.slice(2), processIo());
  process.exitCode = code;
  // Every channel is closed by now; should a stray handle keep the process alive, end it anyway.
  setTimeout(() => process.exit(code), 2_000).unref();
}

// Not a top-level await: the bundle is CommonJS, read by a small entry (build/bundle-bins.ts).
void main();
