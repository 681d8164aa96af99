/**
 * A stand-in for a test process, for reaper.test.ts. `hold`: guards a child that runs until
 * killed, prints its pid, and runs as long as it does. `brief`: guards a child that exits at
 * once, and then has nothing left to wait for.
 */
import { spawn } from 'node:child_process';
import { guardChild } from './reaper.js';

const mode = process.argv[2];
if (mode === 'hold') {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  guardChild(child);
  process.stdout.write(`${child.pid}\n`);
} else if (mode === 'brief') {
  guardChild(spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
