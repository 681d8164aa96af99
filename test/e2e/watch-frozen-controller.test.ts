/**
 * `ctl watch` from a controller that freezes (SIGSTOP here; a VM paused, a partition that drops
 * packets): the connection stays open and silent, so without keepalive pings the watch waited
 * for ever, printing nothing, while the cluster went on changing (attack-operator round 16).
 * With them it notices within 10 s and resumes on the next endpoint, missing nothing.
 */
// run-tests: waits (most of its time is the watch's keepalive noticing a frozen controller: run beside the CPU-bound files)
import { spawn } from 'node:child_process';
import t from 'tap';
import { nodeCommand } from '../helpers/node-command.js';
import { CTL_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a watch whose controller freezes resumes elsewhere and shows the change made meanwhile', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const frozen = cluster.ids.find((id) => id !== leader) ?? '';
  const others = cluster.ids.filter((id) => id !== frozen);
  const client = cluster.client(others);
  t.teardown(() => client.close());

  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CTL_ENDPOINTS'];
  const cmd = nodeCommand(CTL_JS, ['--endpoints', cluster.endpoints([frozen, ...others]), 'watch', 'k'], [], env);
  const watch = spawn(cmd.command, cmd.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void watch.kill('SIGKILL'));
  let out = '';
  let err = '';
  watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
  watch.stderr.on('data', (d: Buffer) => (err += d.toString()));

  // The watch is open on `frozen` once it has shown a change.
  await waitFor(async () => {
    await client.put('k', 'before');
    return out.includes('before');
  }, 'the watch to show the first change', 20_000);
  cluster.pause(frozen);
  t.teardown(() => cluster.resume(frozen));
  await client.put('k', 'while-frozen');
  await waitFor(() => out.includes('while-frozen'), `the change made while ${frozen} is frozen (stderr: ${err.trim()})`, 25_000);
  t.match(err, new RegExp(`lost the watch from ${cluster.endpoints([frozen]).replaceAll('.', '\\.')}.*resuming the watch from revision \\d+ on the next endpoint`));
});
