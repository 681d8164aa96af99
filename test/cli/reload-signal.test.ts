/**
 * SIGHUP, the reload signal, held from a controller process's first moment (Node's default
 * would kill it), handed to the reload once the node can reload, and given back to offline
 * tools. Real signals to a child process, waited for with a deadline.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const MODULE = pathToFileURL(path.resolve('dist/src/cli/reload-signal.js')).href;

function run(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string } {
  // A signal arrives through the event loop: wait for it to be held (with a deadline).
  const held = `const deadline = Date.now() + 10000;
while (!reloadPending() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));`;
  const script = `import { onReloadSignal, releaseReloadSignal, reloadPending } from ${JSON.stringify(MODULE)};\n${body.replace('HELD', held)}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout };
}

void t.test('a SIGHUP before the node can reload is held, not fatal, and acted on once the reload is set', async (t) => {
  const r = run(`process.kill(process.pid, 'SIGHUP');
HELD
console.log('alive', reloadPending());
onReloadSignal(() => { console.log('reload'); process.exit(0); });`);
  t.same({ status: r.status, signal: r.signal }, { status: 0, signal: null });
  t.same(r.stdout.trim().split('\n'), ['alive true', 'reload']);
});

void t.test('once set, every SIGHUP reloads', async (t) => {
  const r = run(`let reloads = 0;
let resolveSecond;
const second = new Promise((resolve) => (resolveSecond = resolve));
onReloadSignal(() => { reloads++; console.log('reload', reloads); if (reloads === 2) resolveSecond(); });
process.kill(process.pid, 'SIGHUP');
const deadline = setTimeout(() => { console.log('timed out'); process.exit(1); }, 10000);
while (reloads < 1) await new Promise((resolve) => setTimeout(resolve, 1));
process.kill(process.pid, 'SIGHUP');
await second;
clearTimeout(deadline);
console.log('pending', reloadPending());`);
  t.same({ status: r.status, signal: r.signal }, { status: 0, signal: null });
  t.same(r.stdout.trim().split('\n'), ['reload 1', 'reload 2', 'pending false']);
});

void t.test('an offline tool gets the default action back, for a SIGHUP already held too', async (t) => {
  const r = run(`process.kill(process.pid, 'SIGHUP');
HELD
console.log('held');
releaseReloadSignal();
// Kept alive until the signal ends it; spawnSync's own timeout (SIGTERM) would end it otherwise.
setInterval(() => console.log('not stopped'), 1000);`);
  t.equal(r.signal, 'SIGHUP', 'the process ends by the held signal');
  t.equal(r.stdout.trim(), 'held');
});

const EARLY = pathToFileURL(path.resolve('dist/src/cli/early-sighup.js')).href;

void t.test("a SIGHUP the bundled entry held while the bundle loaded is handed to the reload", async (t) => {
  // As dist/bin/controller.js runs: the entry's holder first, the bundle (reload-signal.ts) after.
  const script = `import { holdSighup } from ${JSON.stringify(EARLY)};
holdSighup();
// Signal watchers keep no event loop alive: a timer does, until the signal is delivered.
const alive = setInterval(() => undefined, 1000);
const delivered = new Promise((resolve) => process.once('SIGHUP', resolve));
process.kill(process.pid, 'SIGHUP');
await delivered;
clearInterval(alive);
const { onReloadSignal, reloadPending } = await import(${JSON.stringify(MODULE)});
console.log('alive', reloadPending(), process.listenerCount('SIGHUP'));
onReloadSignal(() => { console.log('reload'); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
  t.same({ status: r.status, signal: r.signal }, { status: 0, signal: null });
  t.same(r.stdout.trim().split('\n'), ['alive true 1', 'reload'], 'held, handed over (the holder removed), acted on');
});
