/**
 * A controller whose port is taken says so in one line, exits 2, and has written nothing: no
 * data_dir, so starting it again once the port is free creates the cluster as if it were new.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { nodeCommand } from '../helpers/node-command.js';
import { freePorts } from '../helpers/free-ports.js';
import { runToExit } from '../helpers/run-to-exit.js';

void t.test('a port in use: one line naming the address and the cause, exit 2, nothing written', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1 });
  t.teardown(() => cluster.stop());
  const address = cluster.addresses.get('c1')!;
  const port = Number(address.split(':')[1]);
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const cmd = nodeCommand(CONTROLLER_JS, ['--config', cluster.configFile, '--id', 'c1']);
    const p = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
  t.equal(run.code, 2);
  t.same(run.stderr.trim().split('\n'), [`controller: cannot listen on ${address} (gRPC): the address is already in use (another controller, or another program, holds the port)`]);
  t.notOk(fs.existsSync(path.join(cluster.dir, 'data', 'c1')), 'no data_dir was created');
});

void t.test('a data dir another controller holds: one line naming the lock, exit 2, the running one unharmed', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1 });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const address = cluster.addresses.get('c1')!;
  // The same member and data dir under another port: only the data dir is in use.
  const [other] = await freePorts(1);
  const file = path.join(cluster.dir, 'same-data-dir.yaml');
  fs.writeFileSync(file, fs.readFileSync(cluster.configFile, 'utf8').replace(address, `127.0.0.1:${other}`));
  const run = await runToExit(CONTROLLER_JS, ['--config', file, '--id', 'c1'], 'a second c1 on the same data dir', 30_000);
  t.equal(run.code, 2, 'a config error, as a data dir it cannot write');
  t.match(run.stderr, /cannot open raft storage at .*Another controller process holds this data dir; stop it or give this node its own data_dir/);
  t.equal(run.stderr.trim().split('\n').length, 1, 'in one line');
  t.equal((await cluster.status('c1'))?.leader, 'c1', 'the running controller still leads');
});
