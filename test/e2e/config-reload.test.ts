/**
 * SIGHUP re-reads the config file on a real controller process: a new controller.log_level is in
 * force at once (at warn, info lines stop), a changed timeout is named as waiting for a restart, and a
 * file that fails the checks changes nothing; the process runs on throughout. Plaintext: the
 * TLS files have their own test (tls-reload.test.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import t, { type Test } from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { freePorts } from '../helpers/free-ports.js';

/** A one-node cluster with a leader, its controller's pid, and its JSON log lines (all, or those of one code). */
async function oneNodeRunning(t: Test) {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.explainFailure(cluster.waitForLeader());
  const log = (): string[] => (cluster.logs.get('c1') ?? []).join('').split('\n').filter((l) => l.startsWith('{'));
  const coded = (code: string): Array<Record<string, unknown>> => log().filter((l) => l.includes(`"code":"${code}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { cluster, pid: cluster.pid('c1'), log, coded };
}

void t.test('SIGHUP re-reads the config file: log_level at once, other keys named for a restart, a bad file refused', async (t) => {
  const { cluster, pid, log, coded } = await oneNodeRunning(t);
  const edit = (from: RegExp, to: string): void => fs.writeFileSync(cluster.configFile, fs.readFileSync(cluster.configFile, 'utf8').replace(from, to));
  const noTlsLines = (): number => log().filter((l) => l.includes('SIGHUP: no tls block')).length;

  // To warn: the reload's own info lines are then not written, its warning is.
  edit(/log_level: info/, 'log_level: warn');
  edit(/election_timeout: 500ms/, 'election_timeout: 600ms');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RESTART_NEEDED').length === 1, 'CONFIG_RESTART_NEEDED in the log');
  t.match(coded('CONFIG_RESTART_NEEDED')[0], { level: 40, keys: ['raft.election_timeout'] }, 'the timeout named as waiting for a restart');

  // Back to info: this reload's lines are written; the first's info lines never were.
  edit(/log_level: warn/, 'log_level: info');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOADED').length === 1, 'CONFIG_RELOADED in the log');
  t.match(coded('CONFIG_RELOADED')[0], { level: 30, logLevel: { from: 'warn', to: 'info' }, restartNeeded: ['raft.election_timeout'] });
  await waitFor(() => noTlsLines() === 1, "the second SIGHUP's TLS line");
  t.equal(noTlsLines(), 1, 'at warn, the first SIGHUP wrote no info line');
  t.equal(coded('CONFIG_RESTART_NEEDED').length, 2, 'the timeout still waits for a restart');

  edit(/log_level: info/, 'log_level: loud');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOAD_FAILED').length === 1, 'CONFIG_RELOAD_FAILED in the log');
  t.match(coded('CONFIG_RELOAD_FAILED')[0], { level: 50, cause: /controller\.log_level: expected one of .*found the string "loud"/ });
  t.equal(coded('CONFIG_RELOADED').length, 1, 'nothing reloaded');
  t.equal(cluster.pid('c1'), pid, 'the same process runs on');
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'v'])).code, 0, 'and serves');
});

void t.test('SIGHUP with a tls block naming missing files is refused as a start refuses it; the node runs on as before', async (t) => {
  const { cluster, pid, coded } = await oneNodeRunning(t);
  // A plaintext-to-TLS switch made in the wrong order: the file first, the certificates not yet there.
  const text = fs.readFileSync(cluster.configFile, 'utf8');
  t.notMatch(text, /^tls:/m, 'the cluster is plaintext');
  fs.writeFileSync(cluster.configFile, text.replace(/log_level: info/, 'log_level: warn') + '\ntls:\n  ca: /nonexistent/ca.crt\n  cert: /nonexistent/c.crt\n  key: /nonexistent/c.key\n');
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOAD_FAILED').length === 1, 'CONFIG_RELOAD_FAILED in the log');
  t.match(coded('CONFIG_RELOAD_FAILED')[0], { level: 50, cause: `${cluster.configFile}: tls.ca: /nonexistent/ca.crt: cannot read it (no such file)` }, "the start's cause, naming the file");
  t.equal(coded('CONFIG_RELOADED').length, 0, 'not called reloaded');
  t.equal(coded('CONFIG_RESTART_NEEDED').length, 0, 'nor in force after a restart');
  t.equal(cluster.pid('c1'), pid, 'the same process runs on');
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'v'])).code, 0, 'and serves, in plaintext');
  // log_level warn was refused with the rest: the file put back finds info still in force.
  fs.writeFileSync(cluster.configFile, text);
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOADED').length === 1, 'the file put back to be reloaded');
  t.match(coded('CONFIG_RELOADED')[0], { level: 30, logLevel: null, restartNeeded: [] }, 'warn was never taken');
});

void t.test("SIGHUP with this member's own address moved is refused as the restart would be, not called in force after one", async (t) => {
  const { cluster, pid, coded } = await oneNodeRunning(t);
  const text = fs.readFileSync(cluster.configFile, 'utf8');
  const address = cluster.endpoints(['c1']);
  const [moved] = await freePorts(1);
  // An operator edits the port, reloads, and sees nothing wrong until the next restart fails.
  fs.writeFileSync(cluster.configFile, text.replace(address, `127.0.0.1:${moved}`));
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOAD_FAILED').length + coded('CONFIG_RESTART_NEEDED').length > 0, 'the reload judged');
  t.equal(coded('CONFIG_RESTART_NEEDED').length, 0, 'not named as in force after a restart');
  const cause = `${cluster.configFile}: cluster.nodes lists this member, c1, at 127.0.0.1:${moved}, but the cluster has it at ${address}`;
  t.match(coded('CONFIG_RELOAD_FAILED')[0], { level: 50, cause }, "refused, naming both addresses");
  t.equal(cluster.pid('c1'), pid, 'the same process runs on');
  // The restart the reload warned of: it stops at once with the same words, exit 2.
  t.equal(await cluster.kill('c1', 'SIGTERM'), 0);
  const restarted = cluster.start('c1');
  const code = await new Promise<number | null>((resolve) => restarted.once('exit', resolve));
  t.equal(code, 2, 'the restart with that file exits 2');
  t.match((cluster.logs.get('c1') ?? []).join(''), `controller: ${cause}`, 'with the cause the reload gave');
});

void t.test('SIGHUP with data_dir moved to an empty dir is refused: the restart would start the member empty', async (t) => {
  const { cluster, pid, coded } = await oneNodeRunning(t);
  const running = `${cluster.dir}/data/c1`;
  const empty = `${cluster.dir}/new-disk/c1`;
  fs.mkdirSync(empty, { recursive: true, mode: 0o700 });
  // A new disk mounted and named in the file before the data was moved onto it.
  fs.writeFileSync(cluster.configFile, fs.readFileSync(cluster.configFile, 'utf8').replace(`${cluster.dir}/data/\${id}`, `${cluster.dir}/new-disk/\${id}`));
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOAD_FAILED').length + coded('CONFIG_RESTART_NEEDED').length > 0, 'the reload judged');
  t.equal(coded('CONFIG_RESTART_NEEDED').length, 0, 'not named as in force after a restart');
  t.match(coded('CONFIG_RELOAD_FAILED')[0], { level: 50, cause: `${cluster.configFile}: controller.data_dir: ${empty} holds no Raft state, but c1 runs on ${running}, which does` });
  t.equal(cluster.pid('c1'), pid, 'the same process runs on');
  // The data moved there as the message says: the same file now reloads.
  t.equal(await cluster.kill('c1', 'SIGTERM'), 0);
  fs.rmdirSync(empty);
  fs.renameSync(running, empty);
  cluster.start('c1');
  await cluster.explainFailure(cluster.waitForLeader());
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RELOADED').length > 0, 'the moved data dir reloaded');
  t.equal(coded('CONFIG_RELOAD_FAILED').length, 1, 'no second refusal');
});

void t.test('SIGHUP with a listen address another program holds warns that the restart would fail, while there is time to act', async (t) => {
  const { cluster, pid, coded } = await oneNodeRunning(t);
  const [held] = await freePorts(1);
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(held, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const address = cluster.endpoints(['c1']);
  const text = fs.readFileSync(cluster.configFile, 'utf8');
  // A proxy goes in front: the controller is to listen elsewhere, on a port something already has.
  fs.writeFileSync(cluster.configFile, text.replace(`address: "${address}"`, `address: "${address}", listen: "127.0.0.1:${held}"`));
  cluster.signal('c1', 'SIGHUP');
  await waitFor(() => coded('CONFIG_RESTART_WILL_FAIL').length === 1, 'CONFIG_RESTART_WILL_FAIL in the log');
  t.match(coded('CONFIG_RESTART_NEEDED')[0], { keys: ['cluster.nodes'] }, 'the key named for a restart, as before');
  t.match(coded('CONFIG_RESTART_WILL_FAIL')[0], { level: 40, cause: `cannot listen on 127.0.0.1:${held} (gRPC): the address is already in use (another controller, or another program, holds the port)` });
  t.equal(cluster.pid('c1'), pid, 'the same process runs on');
});

/** Whether process `pid` catches SIGHUP (bit 1 of SigCgt in /proc/PID/status); null once it is gone. */
function catchesSighup(pid: number): boolean | null {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
  } catch {
    return null;
  }
}

void t.test('a SIGHUP while the bundled controller is still loading is held, not fatal, and acted on once it runs', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  const child = cluster.start('c1');
  const pid = child.pid!;
  const log = (): string[] => (cluster.logs.get('c1') ?? []).join('').split('\n').filter((l) => l.startsWith('{'));
  // The entry holds SIGHUP before it reads the 3 MB bundle: the first moment it is caught.
  await waitFor(() => catchesSighup(pid) !== false, 'the process to catch SIGHUP', 20_000);
  const startedBefore = log().some((l) => l.includes('"msg":"controller started"'));
  cluster.signal('c1', 'SIGHUP');
  t.comment(`SIGHUP sent ${startedBefore ? 'after' : 'before'} the controller logged its start`);
  await cluster.explainFailure(cluster.waitForLeader());
  await waitFor(() => log().some((l) => l.includes('SIGHUP: no tls block')), 'the held SIGHUP to be acted on');
  t.equal(child.exitCode, null, 'the process runs on');
  t.equal(cluster.pid('c1'), pid);
  t.equal((await cluster.ctl(['kv', 'put', 'k', 'v'])).code, 0, 'and serves');
});
