/**
 * agent.yaml is read as the controller reads its config file: a regular file of at most 1 MiB of
 * UTF-8 text. Before, `agent --config /dev/zero` aborted (`terminate called after throwing an
 * instance of 'std::bad_alloc'`), and a 200 MB file took 1 GB of memory and was refused by
 * printing all of it on one line (attack round 14).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadAgentYaml } from '../../src/agent/agent-yaml.js';
import { ConfigError } from '../../src/config/errors.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { AGENT_JS } from './agent-procs.js';

const reasonOf = (file: string): string => {
  try {
    loadAgentYaml(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'loaded';
};

void t.test('a device, a FIFO, a directory, a file over 1 MiB and UTF-16 text are refused by what they are', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-yaml-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.match(reasonOf('/dev/zero'), /cannot read the agent config: it is a character device/);
  const fifo = path.join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  t.match(reasonOf(fifo), /cannot read the agent config: it is a FIFO/, 'a FIFO is not waited on');
  t.match(reasonOf(dir), /cannot read the agent config: it is a directory/);
  const huge = path.join(dir, 'huge.yaml');
  fs.writeFileSync(huge, 'a'.repeat(2 * 1024 * 1024));
  const message = reasonOf(huge);
  t.match(message, /expected at most 1048576 bytes, found 2097152/);
  t.ok(message.length < 500, `the refusal does not echo the file (${message.length} characters)`);
  const utf16 = path.join(dir, 'utf16.yaml');
  fs.writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('protocols: [http]\n', 'utf16le')]));
  t.match(reasonOf(utf16), /it is UTF-16 text .*save it as UTF-8/);
  const good = path.join(dir, 'agent.yaml');
  fs.writeFileSync(good, 'protocols: [http]\n');
  t.equal(reasonOf(good), 'loaded');
});

void t.test('agent --config /dev/zero exits 2 with one line naming it', async (t) => {
  const run = await runToExit(AGENT_JS, ['--controllers', '127.0.0.1:1', '--id', 'a1', '--config', '/dev/zero'], 'agent --config /dev/zero', 20000);
  t.equal(run.code, 2, run.stderr);
  t.equal(run.stderr.trim().split('\n').length, 1);
  t.match(run.stderr, /\/dev\/zero.*it is a character device/);
});
