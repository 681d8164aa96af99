/**
 * attack-37b B6: `ctl watch` with several endpoints moves on when the answering controller stops
 * (SIGTERM) or is killed (kill -9), resumes after the last change it printed, and keeps running:
 * the changes made meanwhile are printed once each. It exited 3 ("no endpoint reachable") and
 * never printed them.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { CTL_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { nodeCommand } from '../helpers/node-command.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';

interface Event {
  readonly type: string;
  readonly key: string;
  readonly value: string;
}

void t.test('ctl watch survives its controller stopping and being killed', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  await client.put('wk', '1');

  const cmd = nodeCommand(CTL_JS, ['--endpoints', cluster.endpoints(['c1', 'c2', 'c3']), 'watch', 'wk', '-o', 'json']);
  const watch = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  guardChild(watch);
  let out = '';
  let err = '';
  watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
  watch.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve((exitCode = code))));
  t.teardown(() => {
    if (exitCode !== 0) t.comment(`ctl watch exit ${exitCode}, stdout ${out}, stderr ${err}`);
    if (exitCode === undefined) watch.kill('SIGKILL');
  });
  const values = (): string[] =>
    out
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Event)
      .map((e) => `${e.type} ${e.key}=${e.value}`);

  // The watch is open once one of these puts is printed (nothing else says when ctl is ready);
  // wk=2 then marks where the changes this test counts begin.
  await waitFor(async () => {
    if (values().length > 0) return true;
    await client.put('wk', 'ready');
    return false;
  }, 'the watch to print a put (from c1)', 15_000);
  await client.put('wk', '2');
  const since2 = (): string[] => values().slice(values().indexOf('PUT wk=2'));
  await waitFor(() => values().includes('PUT wk=2'), 'the watch to print wk=2', 15_000);

  t.equal(await cluster.kill('c1', 'SIGTERM'), 0, 'c1 stopped cleanly');
  await client.put('wk', '3');
  await waitFor(() => since2().length === 2, 'wk=3 printed after c1 stopped', 15_000);
  t.equal(exitCode, undefined, 'the watch kept running when c1 stopped');
  t.match(err, /resuming the watch from revision \d+ on the next endpoint/, 'it said it moved on');

  // Now on c2: kill it. c3 alone has no quorum; c1 comes back for the next write.
  await cluster.kill('c2', 'SIGKILL');
  cluster.start('c1');
  await cluster.waitForLeader(['c1', 'c3']);
  await client.put('wk', '4');
  await waitFor(() => since2().length === 3, 'wk=4 printed after c2 was killed', 20_000);
  t.equal(exitCode, undefined, 'the watch kept running when c2 was killed');
  t.strictSame(since2(), ['PUT wk=2', 'PUT wk=3', 'PUT wk=4'], 'each change once, in order, none missed');

  watch.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C still ends it cleanly');
});
