/** ctl's etcdctl habits: -w for -o, a version that never needs a server, bash completion from the command tree. */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { bashCompletion } from '../../src/cli/ctl/completion.js';
import type { CtlIo } from '../../src/cli/ctl/context.js';
import { buildProgram, runCtl } from '../../src/cli/ctl/program.js';
import { aliasWriteOut } from '../../src/cli/ctl/write-out.js';
import { VERSION } from '../../src/node/version.js';
import { deadAddress, startFake, threeControllers } from './fake-controller.js';

async function ctl(argv: readonly string[]): Promise<{ code: number; out: string; err: string[] }> {
  let out = '';
  const err: string[] = [];
  const io: CtlIo = { env: {}, out: (text) => void (out += text), err: (line) => void err.push(line), now: () => 0, onInterrupt: () => () => undefined };
  const code = await runCtl(argv, io);
  return { code, out, err };
}

void t.test('-w and --write-out are the etcdctl spellings of -o and --output, up to a -- only', async (t) => {
  t.strictSame(aliasWriteOut(['list', 'controllers', '-w', 'json']), ['list', 'controllers', '-o', 'json']);
  t.strictSame(aliasWriteOut(['status', '-wjson']), ['status', '-ojson']);
  t.strictSame(aliasWriteOut(['status', '--write-out', 'yaml', '--write-out=json']), ['status', '--output', 'yaml', '--output=json']);
  t.strictSame(aliasWriteOut(['kv', 'put', 'k', '--', '-w']), ['kv', 'put', 'k', '--', '-w'], 'an operand after -- stays');
  t.strictSame(aliasWriteOut(['--endpoints', 'a:1', 'watch', 'k']), ['--endpoints', 'a:1', 'watch', 'k'], 'other flags untouched');
});

void t.test('list controllers -w json prints what -o json does', async (t) => {
  const fake = await startFake({ unary: { ListControllers: () => ({ controllers: threeControllers(), stale: false, answeredBy: 'c1', staleReason: '', otherClusters: '' }) } });
  t.teardown(() => fake.stop());
  const a = await ctl(['--endpoints', fake.address, 'list', 'controllers', '-w', 'json']);
  const b = await ctl(['--endpoints', fake.address, 'list', 'controllers', '-o', 'json']);
  t.equal(a.code, 0);
  t.equal(a.out, b.out);
  t.equal(JSON.parse(a.out).length, 3);
});

void t.test('version prints ctl\'s version and exits 0 even when no server answers', async (t) => {
  const dead = await deadAddress();
  const run = await ctl(['--endpoints', dead, '--timeout', '300ms', 'version', '-o', 'json']);
  t.equal(run.code, 0);
  t.strictSame(JSON.parse(run.out), { ctl: VERSION, server: null, answeredBy: null, clusterVersion: null });
  const text = await ctl(['--endpoints', dead, '--timeout', '300ms', 'version']);
  t.equal(text.out, `ctl version: ${VERSION}\nserver version: unknown (no endpoint answered)\n`, 'no server answer, no cluster version line');
  t.match(run.err[0], /^warning: no server version: /);
  const fake = await startFake({ unary: { Status: () => ({ id: 'c2', version: '9.9.9', clusterVersion: '9.9' }) } });
  t.teardown(() => fake.stop());
  const live = await ctl(['--endpoints', fake.address, 'version']);
  t.equal(live.out, `ctl version: ${VERSION}\nserver version: 9.9.9 (c2)\ncluster version: 9.9\n`);
  t.strictSame(JSON.parse((await ctl(['--endpoints', fake.address, 'version', '-o', 'json'])).out), { ctl: VERSION, server: '9.9.9', answeredBy: 'c2', clusterVersion: '9.9' });
  const older = await startFake({ unary: { Status: () => ({ id: 'c3', version: '0.1.0' }) } });
  t.teardown(() => older.stop());
  const old = await ctl(['--endpoints', older.address, 'version']);
  t.equal(old.out, `ctl version: ${VERSION}\nserver version: 0.1.0 (c3)\ncluster version: unknown (the server does not report one)\n`, 'a server that predates cluster versions');
  t.equal((await ctl(['--version'])).out, `${VERSION}\n`);
});

void t.test('completion bash completes commands, subcommands, flags and flag values', async (t) => {
  const { program } = buildProgram({ env: {}, out: () => undefined, err: () => undefined, now: () => 0, onInterrupt: () => () => undefined }, []);
  const script = bashCompletion(program);
  const complete = (words: readonly string[]): string => {
    const cword = words.length - 1;
    const run = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${cword}; _ctl_complete; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout.trim();
  };
  t.equal(complete(['ctl', 'me']), 'member');
  t.equal(complete(['ctl', 'member', '']), 'add promote remove list');
  t.equal(complete(['ctl', '--endpoints', 'h:1', 'snap']), 'snapshot', 'a flag value is not a command');
  t.equal(complete(['ctl', 'list', 'controllers', '-o', '']), 'table wide json yaml');
  t.equal(complete(['ctl', 'list', 'controllers', '-w', 'j']), 'json', 'the -w spelling too');
  t.match(complete(['ctl', 'member', 'add', '--w']), /--wait --wait-timeout/);
  t.equal((await ctl(['completion', 'zsh'])).code, 2, 'an unknown shell is a usage error');
  t.match((await ctl(['completion', 'bash'])).out, /^# bash completion for ctl/);
});
