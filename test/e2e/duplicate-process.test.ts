/**
 * A member's data dir copied and started a second time, at the member's address with another
 * `listen` (the adversarial test's repro): its peers refuse the copy (DUPLICATE_PROCESS), and
 * with the real member frozen it is shown offline, not kept online by the copy's pings (looked
 * at inside the 30 holds after which a proven copy is taken). A real restart is still taken.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePorts } from '../helpers/free-ports.js';
import { nodeCommand } from '../helpers/node-command.js';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';

const ELECTION_TIMEOUT_MS = 500;

interface Row {
  readonly id: string;
  readonly online: boolean;
  readonly localState: string;
}

void t.test('a copy of a member running beside it is refused and never speaks for it', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, raft: { electionTimeout: `${ELECTION_TIMEOUT_MS}ms` } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const dup = cluster.ids.find((id) => id !== leader)!;
  const other = cluster.ids.find((id) => id !== leader && id !== dup)!;
  const client = cluster.client();
  t.teardown(() => client.close());
  for (let i = 0; i < 5; i++) await client.put(`k${i}`, String(i));

  // The careless copy: the data dir copied while the member runs, started with the same address.
  const copyDir = path.join(cluster.dir, 'copy');
  fs.cpSync(path.join(cluster.dir, 'data', dup), path.join(copyDir, 'data', dup), { recursive: true });
  const [listen] = await freePorts(1);
  const yaml = fs
    .readFileSync(cluster.configFile, 'utf8')
    .replace(`${cluster.dir}/data/`, `${copyDir}/data/`)
    .replace(new RegExp(`(- \\{ id: ${dup}, address: "[^"]+")`), `$1, listen: "127.0.0.1:${listen}"`);
  t.match(yaml, `listen: "127.0.0.1:${listen}"`, 'the copy listens elsewhere');
  const copyFile = path.join(copyDir, 'cluster.yaml');
  fs.writeFileSync(copyFile, yaml);
  const cmd = nodeCommand(CONTROLLER_JS, ['--config', copyFile, '--id', dup]);
  const copy = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  guardChild(copy);
  let copyLog = '';
  copy.stdout.on('data', (d: Buffer) => (copyLog += d.toString()));
  copy.stderr.on('data', (d: Buffer) => (copyLog += d.toString()));
  const copyExited = new Promise<void>((resolve) => copy.once('exit', () => resolve()));
  t.teardown(async () => {
    if (copy.exitCode === null && copy.signalCode === null) copy.kill('SIGKILL');
    await copyExited;
  });

  await waitFor(() => cluster.dumpLogs(leader).includes('DUPLICATE_PROCESS'), `${leader} to refuse the copy of ${dup}`, 20_000);
  t.match(cluster.dumpLogs(leader), new RegExp(`refused a message from ${dup}: two processes speak as ${dup}: process \\w+ was heard \\d+ms ago and process \\w+ speaks too`));
  await waitFor(() => copyLog.includes('DUPLICATE_PROCESS'), 'the copy to hear why', 20_000);
  // Heard beside the member for longer than a restart takes, the copy is proven a second process.
  for (const id of [leader, other]) {
    await waitFor(() => cluster.dumpLogs(id).includes(`a second process speaks as ${dup}`), `${id} to find the copy a second process`, 20_000);
  }

  // The real member frozen: it must go offline, whatever the copy says.
  cluster.pause(dup);
  t.teardown(() => cluster.resume(dup));
  const shownOf = async (): Promise<Row | undefined> => {
    const run = await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints([leader, other]));
    return run.code === 0 ? (JSON.parse(run.stdout) as Row[]).find((r) => r.id === dup) : undefined;
  };
  await waitFor(async () => (await shownOf())?.localState === 'offline', `${dup} to be shown offline while frozen`, 20_000);
  // The copy keeps pinging; it must not bring the member back. Looked at for 10 holds (the
  // hold is 2 election timeouts), well inside the 30 after which a proven copy would be taken.
  const lookUntil = Date.now() + 10 * 2 * ELECTION_TIMEOUT_MS;
  let looks = 0;
  while (Date.now() < lookUntil || looks < 2) {
    const row = await shownOf();
    looks++;
    t.equal(row?.online, false, `${dup} still offline (look ${looks})`, { diagnostic: false });
  }

  // The copy stopped, the real member resumed and restarted: each is taken as itself.
  copy.kill('SIGKILL');
  await copyExited;
  cluster.resume(dup);
  await waitFor(async () => (await shownOf())?.online === true, `${dup} back online once resumed`, 20_000);
  await cluster.kill(dup, 'SIGKILL');
  cluster.start(dup);
  await waitFor(async () => (await shownOf())?.online === true && cluster.dumpLogs(leader).includes(`${dup} speaks from a new process`), `${dup}'s restart to be taken`, 30_000);
  t.equal(Buffer.from((await client.get('k4')).value).toString(), '4', 'the writes are all there');
});
