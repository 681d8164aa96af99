import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { nodeCommand } from '../helpers/node-command.js';
import { apiFailure, deadAddress, startFake, threeControllers, type Fake } from './fake-controller.js';

// Compiled to dist/test/cli/; the CLI is dist/src/cli/ctl.js.
const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/ctl.js');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs ctl as a child process; asynchronous so the in-process fake server can answer it. */
function ctl(args: readonly string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CTL_ENDPOINTS'];
  return new Promise((resolve) => {
    const cmd = nodeCommand(CTL, args, [], env);
    execFile(cmd.command, cmd.args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

let fake: Fake;
let stale: Fake;

t.before(async () => {
  fake = await startFake({
    unary: {
      ListControllers: () => ({ controllers: threeControllers(), stale: false, answeredBy: 'c1', staleReason: '' }),
      Get: (r) => {
        if (r['key'] === 'k') return { key: 'k', value: Buffer.from('v'), revision: 12 };
        throw apiFailure('NOT_FOUND', `key ${JSON.stringify(r['key'])} does not exist`);
      },
      Put: () => {
        throw apiFailure('CAS_FAILED', 'expected revision 1, found 12');
      },
    },
  });
  stale = await startFake({
    unary: {
      ListControllers: () => ({
        // Rows without their own answeredBy and stale, as an older server sends them.
        controllers: threeControllers().map(({ answeredBy: _by, stale: _stale, ...row }) => row),
        stale: true,
        answeredBy: 'c3',
        staleReason: 'no contact with a quorum for 4s',
      }),
    },
  });
});

t.teardown(async () => {
  await fake.stop();
  await stale.stop();
});

void t.test('the built CLI starts with a node shebang', async (t) => {
  const { readFileSync } = await import('node:fs');
  t.match(readFileSync(CTL, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

void t.test('exit 0: list controllers -o json prints exactly the contract array', async (t) => {
  const run = await ctl(['--endpoints', fake.address, 'list', 'controllers', '-o', 'json']);
  t.equal(run.code, 0);
  t.equal(run.stderr, '');
  const rows = JSON.parse(run.stdout) as Record<string, unknown>[];
  t.equal(rows.length, 3);
  t.strictSame(Object.keys(rows[0] ?? {}), [
    'id',
    'address',
    'online',
    'localState',
    'clusterState',
    'leader',
    'voter',
    'lastContactMs',
    'heartbeatTimeoutMs',
    'rttP50Ms',
    'rttP99Ms',
    'appliedIndex',
    'lagEntries',
    'version',
    'answeredBy',
    'stale',
    'role', // added beside the contract's fields
    'duplicateProcess',
  ]);
  t.match(rows[2], { id: 'c3', online: false, localState: 'offline' });
});

void t.test('exit 0: kv get prints the value', async (t) => {
  const run = await ctl(['--endpoints', fake.address, 'kv', 'get', 'k']);
  t.strictSame(run, { code: 0, stdout: 'v\n', stderr: '' });
});

void t.test('exit 1: a lost compare-and-set, one stderr line', async (t) => {
  const run = await ctl(['--endpoints', fake.address, 'kv', 'put', 'k', 'w', '--if-revision', '1']);
  t.strictSame(run, { code: 1, stdout: '', stderr: 'ctl: expected revision 1, found 12\n' });
});

void t.test('exit 2: an unknown flag, one stderr line', async (t) => {
  const run = await ctl(['--endpoints', fake.address, 'list', 'controllers', '--bogus']);
  t.equal(run.code, 2);
  t.equal(run.stdout, '');
  t.strictSame(lines(run.stderr), ["ctl: unknown option '--bogus'"]);
});

void t.test('exit 2: a negative duration is read as an option, and the error says why and how to pass it', async (t) => {
  const run = await ctl(['--endpoints', fake.address, 'config', 'set', 'services.vip_quarantine', '-1s']);
  t.equal(run.code, 2);
  t.strictSame(lines(run.stderr), [
    "ctl: unknown option '-1s': a value that starts with '-' is read as an option, and no duration or number ctl takes is negative; " +
      `to pass it as a value anyway, put -- before it: ctl --endpoints ${fake.address} config set services.vip_quarantine -- -1s`,
  ]);
});

void t.test('exit 3: no endpoint reachable, naming what was tried', async (t) => {
  const a = await deadAddress();
  const b = await deadAddress();
  const run = await ctl(['--endpoints', `${a},${b}`, '--timeout', '2s', 'status']);
  t.equal(run.code, 3);
  t.equal(lines(run.stderr).length, 1);
  t.match(run.stderr, /^ctl: no endpoint answered; tried /);
  t.match(run.stderr, a);
  t.match(run.stderr, b);
});

void t.test('exit 4: kv get of a missing key', async (t) => {
  const run = await ctl(['--endpoints', fake.address, 'kv', 'get', 'nope', '-o', 'json']);
  t.strictSame(run, { code: 4, stdout: '', stderr: 'ctl: key "nope" does not exist\n' });
});

void t.test('a stale view: warning on stderr, the unchanged array on stdout, exit 0', async (t) => {
  const json = await ctl(['--endpoints', stale.address, 'list', 'controllers', '-o', 'json']);
  t.equal(json.code, 0);
  t.strictSame(lines(json.stderr), [
    'warning: c3 cannot vouch for this view; it may be stale (no contact with a quorum for 4s)',
  ]);
  const rows: unknown = JSON.parse(json.stdout);
  t.ok(Array.isArray(rows), 'stdout is the bare array');
  t.equal((rows as unknown[]).length, 3);
  t.ok(
    (rows as Record<string, unknown>[]).every((r) => r['stale'] === true && r['answeredBy'] === 'c3'),
    "every row says whose view it is and that it is stale (a server that sent the flag only for the whole answer)",
  );
  const table = await ctl(['--endpoints', stale.address, 'list', 'controllers']);
  t.equal(table.code, 0);
  t.match(table.stderr, /^warning: c3 cannot vouch for this view/);
  t.match(table.stdout, /c3/);
});
