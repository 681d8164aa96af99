/**
 * A controller started from a working directory that was deleted (a shell left in a removed
 * release dir, say) died with `ENOENT: uv_cwd` and a stack trace even with an absolute data_dir
 * (attack-34 H9): the config loader asked for the working directory it did not need. It starts
 * now; with a relative data_dir, which does need it, it is a config error in one line (exit 2).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { nodeCommand } from '../helpers/node-command.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';

/** sh arguments that run the controller with `args` from `cwd`, deleted just before it starts. */
function fromDeletedCwd(cwd: string, args: readonly string[]): string[] {
  const cmd = nodeCommand(CONTROLLER_JS, args);
  return ['-c', 'cd "$1" && rmdir "$1" && shift && exec "$@"', 'sh', cwd, cmd.command, ...cmd.args];
}

void t.test('an absolute data_dir: the controller starts and serves from a deleted working directory', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  const gone = path.join(cluster.dir, 'gone');
  fs.mkdirSync(gone);
  const child = spawn('/bin/sh', fromDeletedCwd(gone, ['--config', cluster.configFile, '--id', 'c1']), { stdio: ['ignore', 'ignore', 'pipe'] });
  guardChild(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  t.teardown(async () => {
    if (exitCode === undefined) {
      child.kill('SIGKILL'); // by its PID: the process this test started
      await exited;
    }
  });
  await waitFor(async () => {
    if (exitCode !== undefined) throw new Error(`the controller exited ${exitCode}: ${stderr}`);
    return (await cluster.status('c1'))?.leader === 'c1';
  }, 'c1 to lead', 30_000);
  t.notOk(fs.existsSync(gone), 'its working directory is gone');
  const client = cluster.client();
  t.teardown(() => client.close());
  await client.put('k', 'v');
  t.equal(Buffer.from((await client.get('k')).value).toString(), 'v', 'it serves');
  child.kill('SIGTERM');
  t.equal(await exited, 0, `stopped with SIGTERM: ${stderr}`);
  t.notMatch(stderr, /uv_cwd|\n\s+at /, 'no stack trace');
});

void t.test('a relative data_dir from a deleted working directory is a config error in one line', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deleted-cwd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(configFile, ['cluster:', '  nodes:', '    - { id: c1, address: "127.0.0.1:42999" }', 'controller:', '  data_dir: data/${id}', ''].join('\n'));
  const gone = path.join(dir, 'gone');
  fs.mkdirSync(gone);
  const run = spawnSync('/bin/sh', fromDeletedCwd(gone, ['--config', configFile, '--id', 'c1']), { encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 2, run.stderr);
  t.equal(run.stderr.trimEnd().split('\n').length, 1, `one line: ${run.stderr}`);
  t.match(run.stderr, /data_dir "data\/c1" is relative, but the working directory it is relative to cannot be read .*: start from an existing directory, or give an absolute data_dir/);
});
