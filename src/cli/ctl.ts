#!/usr/bin/env node
/** The operator CLI; see `ctl --help` and docs/reference.md ("ctl commands"). */
import './quiet-warnings.js';
import { processIo, runCtl } from './ctl/program.js';
import { EXIT_FAILED } from '../api/errors.js';

// `ctl audit --follow | head -1`: a closed pipe ends the run quietly instead of with a stack trace.
// Any other failure to write the output (`ctl kv get k > file` on a full disk: ENOSPC) is the
// command's failure, said in one line (exit 1); it was a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  process.stderr.write(`ctl: cannot write the output to stdout: ${err.message}\n`);
  process.exit(EXIT_FAILED);
});

const code = await runCtl(process.argv.slice(2), processIo());
process.exitCode = code;
// Every channel is closed by now; should a stray handle keep the process alive, end it anyway.
setTimeout(() => process.exit(code), 2_000).unref();
