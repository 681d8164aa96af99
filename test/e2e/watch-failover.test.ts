/**
 * attack-37b B6: `ctl watch` with several endpoints moves on when the answering controller stops
 * (SIGTERM) or is killed (kill -9), resumes after the last change it printed, and keeps running:
 * the changes made meanwhile are printed once each. It exited 3 ("no endpoint reachable") and
 * never printed them. `ctl audit --follow` does not move (each controller has its own trail):
 * it ends naming the controller that stopped, exit 1 while another endpoint answers.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { CTL_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { nodeCommand } from '../helpers/node-command.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';

/** A ctl process run in the background, its output collected. */
function background(args: readonly string[]) {
  const cmd = nodeCommand(CTL_JS, args);
  const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  guardChild(child);
  const run = { child, out: '', err: '', code: undefined as number | null | undefined };
  child.stdout.on('data', (d: Buffer) => (run.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((run.code = code))));
  return { run, exited };
}

interface Event {
  readonly type: string;
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

void t.test('ctl watch survives its controller stopping and being killed', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', raft: { heartbeatInterval: '100ms', electionTimeout: '1s' } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  // On a loaded host a put may meet an election and be refused (NO_QUORUM): try it again. A
  // retried put may apply twice, so the watch is judged by revisions below, not by counts.
  const put = (value: string): Promise<void> =>
    waitFor(() => client.put('wk', value).then(() => true, () => false), `the put of wk=${value}`, 20_000);
  await put('1');

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
  const events = (): Event[] =>
    out
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Event);
  const values = (): string[] => events().map((e) => `${e.type} ${e.key}=${e.value}`);

  const follow = background(['--endpoints', cluster.endpoints(['c1', 'c2']), 'audit', '--follow']);
  t.teardown(() => {
    if (follow.run.code === undefined) follow.run.child.kill('SIGKILL');
  });
  await waitFor(() => follow.run.out !== '', 'the audit follow to print c1\'s trail', 15_000);

  // The watch is open once one of these puts is printed (nothing else says when ctl is ready);
  // wk=2 then marks where the changes this test counts begin.
  await waitFor(async () => {
    if (values().length > 0) return true;
    await put('ready');
    return false;
  }, 'the watch to print a put (from c1)', 15_000);
  await put('2');
  /** What was printed from wk=2 on, a put applied twice (retried) counted once. */
  const since2 = (): string[] => values().slice(values().indexOf('PUT wk=2')).filter((v, i, all) => i === 0 || v !== all[i - 1]);
  await waitFor(() => values().includes('PUT wk=2'), 'the watch to print wk=2', 15_000);

  t.equal(await cluster.kill('c1', 'SIGTERM'), 0, 'c1 stopped cleanly');
  await cluster.waitForLeader(['c2', 'c3']);
  await put('3');
  await waitFor(() => since2().length === 2, 'wk=3 printed after c1 stopped', 15_000);
  t.equal(exitCode, undefined, 'the watch kept running when c1 stopped');
  t.match(err, /is shutting down; try another controller\); resuming the watch from revision \d+ on the next endpoint/, 'it said why it moved on');
  t.equal(await follow.exited, 1, `the audit follow ended, exit 1: ${follow.run.err}`);
  t.match(follow.run.err, new RegExp(`c1 is shutting down.*each controller keeps its own trail.*${cluster.endpoints(['c2'])} answers`), 'naming why and where to follow again');

  // Now on c2: kill it. c3 alone has no quorum; c1 comes back for the next write.
  await cluster.kill('c2', 'SIGKILL');
  cluster.start('c1');
  await cluster.waitForLeader(['c1', 'c3']);
  await put('4');
  await waitFor(() => since2().length === 3, 'wk=4 printed after c2 was killed', 20_000);
  t.equal(exitCode, undefined, 'the watch kept running when c2 was killed');
  t.strictSame(since2(), ['PUT wk=2', 'PUT wk=3', 'PUT wk=4'], 'every change, in order');
  // A put retried by `put` above may apply a second time after the first was printed: none is
  // missed once the watch has printed the revision wk holds (read and compared together).
  let latest = 0;
  let revisions: number[] = [];
  await waitFor(
    async () => {
      latest = (await client.get('wk')).revision;
      revisions = events().map((e) => e.revision);
      return revisions.at(-1) === latest;
    },
    "the watch to print wk's latest revision",
    20_000,
  ).catch((e: unknown) => t.fail(`none missed: the last printed is ${String(revisions.at(-1))}, wk is at ${latest} (${String(e)})`));
  t.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!), `no revision printed twice: ${revisions.join(' ')}`);
  t.equal(revisions.at(-1), latest, 'none missed: the last printed is the revision of wk');

  watch.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C still ends it cleanly');
});
