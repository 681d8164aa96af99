/** ctl whose stdout cannot be written (a full disk): one line on stderr and exit 1, not a stack trace. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { nodeCommand } from '../helpers/node-command.js';
import { startFake } from './fake-controller.js';

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/ctl.js');

void t.test('kv get > /dev/full: exit 1 and one line naming the cause', async (t) => {
  const fake = await startFake({ unary: { Get: () => ({ key: 'k', value: Buffer.from('v'), revision: 3 }) } });
  t.teardown(() => fake.stop());
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CTL_ENDPOINTS'];
  const full = fs.openSync('/dev/full', 'w');
  t.teardown(() => fs.closeSync(full));
  const cmd = nodeCommand(CTL, ['--endpoints', fake.address, 'kv', 'get', 'k'], [], env);
  const child = spawn(cmd.command, cmd.args, { env, stdio: ['ignore', full, 'pipe'] });
  let stderr = '';
  if (child.stderr === null) throw new Error('expected a stderr pipe');
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 1);
  t.equal(stderr, 'ctl: cannot write the output to stdout: ENOSPC: no space left on device, write\n');
});
