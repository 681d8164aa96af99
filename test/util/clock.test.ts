import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { systemScheduler } from '../../src/util/clock.js';
import { waitFor } from '../helpers/wait-for.js';

// The grid's logic is tested on simulated time (timer-grid.test.ts); these check its wiring to
// Node's timers.

void t.test('systemScheduler.every runs periodic work whose periods divide each other in the same callback turn', async (t) => {
  const order: string[] = [];
  const timers = [50, 100].map((ms) => systemScheduler.every(ms, () => order.push(`${ms}`)));
  await waitFor(() => order.filter((x) => x === '100').length >= 2, 'two 100 ms runs', 10000);
  for (const timer of timers) timer.cancel();
  // Each 100 ms run directly follows a 50 ms run of the same wake-up (the 50 ms work was added first).
  order.forEach((x, i) => {
    if (x === '100') t.equal(order[i - 1], '50', `100 ms run #${i} follows a 50 ms run`);
  });
});

void t.test('a throwing callback does not starve the others, and still surfaces as an uncaught exception', (t) => {
  const clock = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/util/clock.js');
  const script = `
    import { systemScheduler } from ${JSON.stringify(clock)};
    systemScheduler.every(30, () => { throw new Error('boom'); });
    systemScheduler.every(30, () => { process.stdout.write('other ran\\n'); });
    setTimeout(() => {}, 5000);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
  t.match(r.stdout, /other ran/, 'the other callback of the same turn ran');
  t.match(r.stderr, /boom/, 'the error was reported');
  t.not(r.status, 0, 'and the process failed as on any uncaught exception');
  t.end();
});
