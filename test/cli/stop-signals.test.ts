/** Stop signals held from a server process's first moment, and given back to offline tools. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const MODULE = pathToFileURL(path.resolve('dist/src/cli/stop-signals.js')).href;

function run(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string } {
  // A signal arrives through the event loop: wait for it to be held (with a deadline).
  const held = `const deadline = Date.now() + 10000;
while (stopRequested() === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));`;
  const script = `import { onStopSignal, releaseStopSignals, stopRequested } from ${JSON.stringify(MODULE)};\n${body.replace('HELD', held)}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout };
}

void t.test('a signal before any handler is held, then handed to the handler once it is set', async (t) => {
  const r = run(`process.kill(process.pid, 'SIGTERM');
HELD
console.log('alive', stopRequested());
onStopSignal((s) => { console.log('stop', s); process.exit(0); });`);
  t.same({ status: r.status, signal: r.signal }, { status: 0, signal: null });
  t.same(r.stdout.trim().split('\n'), ['alive SIGTERM', 'stop SIGTERM']);
});

void t.test('an offline tool gets the default action back, for a signal already held too', async (t) => {
  const r = run(`process.kill(process.pid, 'SIGINT');
HELD
console.log('held');
releaseStopSignals();
// Kept alive until the signal ends it; spawnSync's own timeout (SIGTERM) would end it otherwise.
setInterval(() => console.log('not stopped'), 1000);`);
  t.equal(r.signal, 'SIGINT', 'the process ends by the held signal');
  t.equal(r.stdout.trim(), 'held');
});
