/** ctl whose stdout cannot be written (a full disk): one line on stderr and exit 1, not a stack trace. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { nodeCommand } from '../helpers/node-command.js';
import { startFake } from './fake-controller.js';
import { writeAllSync } from '../../src/cli/stdout-writer.js';

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

// attack-operator round 16: a disk with less room than the output (here a file size limit,
// `ulimit -f`, which fails a write the same way) took the bytes that fitted, Node dropped the
// rest of its short write, and `ctl kv get k > file` exited 0 with the file cut short.
void t.test('kv get > a file that cannot take the whole value: exit 1, not 0 with the file cut short', async (t) => {
  const value = Buffer.alloc(8000, 'v');
  const fake = await startFake({ unary: { Get: () => ({ key: 'k', value, revision: 3 }) } });
  t.teardown(() => fake.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-fsize-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CTL_ENDPOINTS'];
  const cmd = nodeCommand(CTL, ['--endpoints', fake.address, 'kv', 'get', 'k'], [], env);
  const quoted = [cmd.command, ...cmd.args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const out = path.join(dir, 'value');
  const child = spawn('bash', ['-c', `ulimit -f 4; ${quoted} > '${out}'`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 1, `exit 1 (${stderr.trim()})`);
  t.equal(stderr, 'ctl: cannot write the output to stdout: EFBIG: file too large, write\n');
  t.ok(fs.statSync(out).size < value.length, 'the file holds what fitted');
});

void t.test('writeAllSync finishes short writes and throws the error of the one that cannot', async (t) => {
  const written: number[] = [];
  let calls = 0;
  const shortThenFull = ((_fd: number, _buf: Uint8Array, _off: number, length: number): number => {
    calls += 1;
    if (calls === 3) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const n = Math.min(3, length);
    written.push(n);
    return n;
  }) as unknown as typeof fs.writeSync;
  t.throws(() => writeAllSync(1, Buffer.from('0123456789'), shortThenFull), { code: 'ENOSPC' });
  t.same(written, [3, 3], 'two short writes, then the failure');
  const all: number[] = [];
  writeAllSync(1, Buffer.from('0123456789'), ((_fd: number, _b: Uint8Array, _o: number, length: number) => {
    const n = Math.min(4, length);
    all.push(n);
    return n;
  }) as unknown as typeof fs.writeSync);
  t.same(all, [4, 4, 2], 'every byte, however short each write');
});
