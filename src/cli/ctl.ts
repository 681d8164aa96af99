#!/usr/bin/env node
/** The operator CLI; see `ctl --help` and docs/reference.md ("ctl commands"). */
import './quiet-warnings.js';
import { processIo, runCtl } from './ctl/program.js';

// `ctl audit --follow | head -1`: a closed pipe ends the run quietly instead of with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCtl(process.argv.slice(2), processIo());
process.exitCode = code;
// Every channel is closed by now; should a stray handle keep the process alive, end it anyway.
setTimeout(() => process.exit(code), 2_000).unref();
