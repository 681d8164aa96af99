import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { decodeController } from '../../src/api/answers.js';
import { judgeCommitProgress, judgeHealth } from '../../src/cli/ctl/health.js';
import { endpointsFromConfig, parseEndpointList, type CtlIo } from '../../src/cli/ctl/context.js';
import { runCtl } from '../../src/cli/ctl/program.js';
import { shortTimeoutHint } from '../../src/cli/ctl/short-timeout.js';
import { UnreachableError } from '../../src/api/failover.js';
import { hungEndpoint } from '../helpers/hung-endpoint.js';
import { apiFailure, deadAddress, startFake, threeControllers, wireController, type Fake } from './fake-controller.js';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string[];
}

async function ctl(argv: readonly string[], env: Record<string, string> = {}, onInterrupt?: (h: () => void) => void): Promise<Run> {
  let out = '';
  const err: string[] = [];
  const io: CtlIo = {
    env,
    out: (text) => {
      out += text;
    },
    err: (line) => void err.push(line),
    now: () => 1_000_000,
    onInterrupt: (h) => {
      onInterrupt?.(h);
      return () => undefined;
    },
  };
  const code = await runCtl(argv, io);
  return { code, out, err };
}

function view(controllers = threeControllers().map(decodeController), stale = false) {
  return { controllers, stale, staleReason: stale ? 'cut off' : '', answeredBy: 'c1', otherClusters: '' };
}

void t.test('health: a leader and a quorum of voters online is healthy', async (t) => {
  const v = judgeHealth(view());
  t.strictSame(v, { healthy: true, summary: 'healthy: leader c1, 2 of 3 voters online' });
});

void t.test('health: without a quorum, a leader, or from a stale view it is unhealthy and says why', async (t) => {
  const down = (id: string) => wireController(id, 1, { online: false, localState: 'offline', clusterState: 'offline' });
  const noQuorum = judgeHealth(view([wireController('c1', 1, { leader: true }), down('c2'), down('c3')].map(decodeController)));
  t.match(noQuorum, { healthy: false, reason: /no quorum: 1 of 3 voters online, need 2 \(offline: c2, c3\)/ });
  const noLeader = judgeHealth(view([wireController('c1', 1), wireController('c2', 2)].map(decodeController)));
  t.match(noLeader, { healthy: false, reason: /no leader/ });
  t.match(judgeHealth(view(undefined, true)), { healthy: false, reason: 'c1 cannot reach a quorum (cut off)' });
  // Learners do not count towards the quorum.
  const learners = [wireController('c1', 1, { leader: true }), down('c2'), wireController('c4', 4, { voter: false })];
  t.match(judgeHealth(view(learners.map(decodeController))), { healthy: false, reason: /1 of 2 voters online/ });
});

void t.test('ctl health asks the other endpoints when the first view is stale', async (t) => {
  const stale = await startFake({ unary: { ListControllers: () => ({ ...view(), stale: true, staleReason: 'cut off' }) } });
  const fresh = await startFake({ unary: { ListControllers: () => ({ ...view(), answeredBy: 'c2' }) } });
  t.teardown(async () => {
    await stale.stop();
    await fresh.stop();
  });
  const ok = await ctl(['--endpoints', `${stale.address},${fresh.address}`, 'health']);
  t.equal(ok.code, 0);
  t.equal(ok.out, 'healthy: leader c1, 2 of 3 voters online\n');
  const bad = await ctl(['--endpoints', stale.address, 'health']);
  t.equal(bad.code, 1);
  t.strictSame(bad.err, ['ctl: unhealthy: c1 cannot reach a quorum (cut off)']);
});

async function serving(t: { teardown(fn: () => Promise<void>): void }, fake: Promise<Fake>): Promise<Fake> {
  const f = await fake;
  t.teardown(() => f.stop());
  return f;
}

void t.test('kv commands print revisions and values and pass their flags on', async (t) => {
  const f = await serving(
    t,
    startFake({
      unary: {
        Put: () => ({ revision: 12 }),
        Get: (r) => ({ key: r['key'], value: Buffer.from('hello'), revision: 12 }),
        Delete: () => ({ revision: 13 }),
      },
    }),
  );
  const e = ['--endpoints', f.address];
  t.strictSame(await ctl([...e, 'kv', 'put', 'k', 'hello', '--if-revision', '0']), { code: 0, out: '12\n', err: [] });
  t.match(f.calls[0]?.request, { key: 'k', hasIfRevision: true, ifRevision: 0 });
  t.strictSame(await ctl([...e, 'kv', 'get', 'k']), { code: 0, out: 'hello\n', err: [] });
  t.equal(f.calls[1]?.request['serializable'], false);
  const json = await ctl([...e, 'kv', 'get', 'k', '-o', 'json', '--serializable']);
  t.strictSame(JSON.parse(json.out), { key: 'k', value: 'hello', revision: 12 });
  t.equal(f.calls[2]?.request['serializable'], true);
  t.strictSame(await ctl([...e, 'kv', 'del', 'k']), { code: 0, out: '13\n', err: [] });
});

void t.test('kv put --file sends the bytes of a file, or of stdin, as the value', async (t) => {
  const f = await serving(t, startFake({ unary: { Put: () => ({ revision: 7 }) } }));
  const e = ['--endpoints', f.address];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-file-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'value.bin');
  const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe]);
  fs.writeFileSync(file, bytes);
  t.strictSame(await ctl([...e, 'kv', 'put', 'bin', '--file', file]), { code: 0, out: '7\n', err: [] });
  t.same(Buffer.from(f.calls[0]?.request['value'] as Uint8Array), bytes, 'the file, byte for byte');
  const usage = [
    await ctl([...e, 'kv', 'put', 'bin', 'v', '--file', file]),
    await ctl([...e, 'kv', 'put', 'bin']),
    await ctl([...e, 'kv', 'put', 'bin', '--file', path.join(dir, 'nope.bin')]),
  ];
  t.match(usage.map((r) => [r.code, r.err[0]]), [
    [2, /expected a VALUE or --file, found both/],
    [2, /expected a VALUE or --file, found neither/],
    [2, /cannot read the value from .*nope\.bin: ENOENT/],
  ]);
  t.equal(f.calls.length, 1, 'nothing sent on a usage error');
});

void t.test('a key that was not UTF-8 on the command line (Node made its bytes U+FFFD) is refused before anything is sent', async (t) => {
  const f = await serving(t, startFake({ unary: { Put: () => ({ revision: 7 }), Get: () => ({ kv: { key: 'k', value: Buffer.from('v'), revision: 1 } }), Delete: () => ({ revision: 8 }) } }));
  const e = ['--endpoints', f.address];
  // What `ctl kv put $'caf\xe9' one` reaches ctl as: Node decodes argv as UTF-8.
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('utf8');
  t.equal(latin1, 'caf\uFFFD', 'the byte 0xE9 alone arrives as U+FFFD');
  for (const argv of [['kv', 'put', latin1, 'one'], ['kv', 'get', latin1], ['kv', 'get', latin1, '--prefix'], ['kv', 'del', latin1], ['watch', latin1]]) {
    const r = await ctl([...e, ...argv]);
    t.equal(r.code, 2, `${argv.slice(0, 2).join(' ')}: exit 2`);
    t.match(r.err[0], /the key holds U\+FFFD at character 3: the command line passed bytes that are not UTF-8/);
  }
  t.equal(f.calls.length, 0, 'nothing sent');
  t.strictSame(await ctl([...e, 'kv', 'put', 'café', 'one']), { code: 0, out: '7\n', err: [] }, 'a UTF-8 key passes');
});

void t.test('a file path that was not UTF-8 is refused too: it would open its U+FFFD twin, or nothing', async (t) => {
  const f = await serving(t, startFake({ unary: { Put: () => ({ revision: 7 }) } }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-path-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The twin a Latin-1 name collapses into: what would have been read.
  const twin = path.join(dir, 'caf\uFFFD');
  fs.writeFileSync(twin, 'WRONG FILE');
  const e = ['--endpoints', f.address];
  for (const argv of [['kv', 'put', 'k', '--file', twin], ['apply', '-f', twin], ['--tls-ca', twin, 'status'], ['snapshot', 'save', twin], ['snapshot', 'status', twin]]) {
    const r = await ctl([...e, ...argv]);
    t.equal(r.code, 2, `${argv.join(' ')}: exit 2`);
    t.match(r.err[0], /the path holds U\+FFFD at character \d+: the command line passed bytes that are not UTF-8/);
  }
  t.equal(f.calls.length, 0, 'nothing read, nothing sent');
});

void t.test('member and leader commands print the resulting membership and leader', async (t) => {
  const f = await serving(
    t,
    startFake({
      unary: {
        MemberAdd: () => ({ voters: ['c1', 'c2', 'c3'], learners: ['c4'] }),
        MemberPromote: () => ({ voters: ['c1', 'c2', 'c3', 'c4'], learners: [] }),
        MemberRemove: () => {
          throw apiFailure('CONF_CHANGE_PENDING', 'a membership change is in progress');
        },
        LeaderTransfer: (r) => (r['target'] === 'c1' ? { leader: 'c1', unchanged: true } : { leader: r['target'] === '' ? 'c2' : r['target'] }),
      },
    }),
  );
  const e = ['--endpoints', f.address];
  const add = await ctl([...e, 'member', 'add', 'c4', '127.0.0.1:7104', '--learner']);
  t.strictSame(add, { code: 0, out: 'added c4 as a learner; voters: c1,c2,c3; learners: c4\n', err: [] });
  const promote = await ctl([...e, 'member', 'promote', 'c4']);
  t.equal(promote.out, 'promoted c4; voters: c1,c2,c3,c4; learners: -\n');
  const remove = await ctl([...e, 'member', 'remove', 'c4']);
  t.strictSame(remove, { code: 1, out: '', err: ['ctl: a membership change is in progress'] });
  t.equal((await ctl([...e, 'leader', 'transfer'])).out, 'leader: c2\n');
  t.equal((await ctl([...e, 'leader', 'transfer', 'c3'])).out, 'leader: c3\n');
  // ops55: a transfer to the leader itself said `leader: c1` as though it had moved.
  t.strictSame(await ctl([...e, 'leader', 'transfer', 'c1']), { code: 0, out: 'leader: c1 (already the leader; nothing changed)\n', err: [] }, 'a transfer to the leader says nothing changed, exit 0');
  const calls = f.calls.length;
  const empty = await ctl([...e, 'leader', 'transfer', '']);
  t.strictSame(empty, { code: 2, out: '', err: ['ctl: expected a voter id, found an empty string (leave ID out to let the cluster choose)'] }, 'an empty id ("$UNSET") is refused, not taken as "any voter"');
  t.equal(f.calls.length, calls, 'and nothing is sent');
  const badAddress = await ctl([...e, 'member', 'add', 'c5', 'nowhere']);
  t.equal(badAddress.code, 2);
  t.equal(badAddress.err.length, 1);
  t.match(badAddress.err[0], /^ctl: member add ADDRESS: expected host:port/);
});

void t.test('commands that change the cluster print one JSON object with -o json', async (t) => {
  const f = await serving(
    t,
    startFake({
      unary: {
        Put: () => ({ revision: 12 }),
        Delete: () => ({ revision: 13 }),
        MemberAdd: () => ({ voters: ['c1', 'c2', 'c3'], learners: ['c4'], unchanged: false, detail: 'start it with --join' }),
        MemberPromote: () => ({ voters: ['c1', 'c2', 'c3', 'c4'], learners: [], unchanged: true, detail: 'c4 is already a voter; nothing changed' }),
        MemberRemove: () => ({ voters: ['c1', 'c2', 'c3'], learners: [], unchanged: false, detail: '' }),
        LeaderTransfer: (r) => (r['target'] === 'c1' ? { leader: 'c1', unchanged: true } : { leader: 'c2' }),
        ConfigSet: (r) => ({ key: r['key'], value: r['value'], changed: false }),
      },
    }),
  );
  const e = ['--endpoints', f.address];
  const json = async (argv: readonly string[]): Promise<unknown> => {
    const run = await ctl([...e, ...argv, '-o', 'json']);
    t.equal(run.code, 0, `${argv.join(' ')}: exit 0`);
    t.equal(run.out.split('\n').length, 2, `${argv.join(' ')}: one line`);
    return JSON.parse(run.out);
  };
  t.strictSame(await json(['kv', 'put', 'k', 'v']), { key: 'k', revision: 12 });
  t.strictSame(await json(['kv', 'del', 'k']), { key: 'k', revision: 13 });
  t.strictSame(await json(['member', 'add', 'c4', '127.0.0.1:7104']), { id: 'c4', changed: true, voters: ['c1', 'c2', 'c3'], learners: ['c4'], detail: 'start it with --join' });
  t.strictSame(await json(['member', 'promote', 'c4']), { id: 'c4', changed: false, voters: ['c1', 'c2', 'c3', 'c4'], learners: [], detail: 'c4 is already a voter; nothing changed' });
  t.strictSame(await json(['member', 'remove', 'c4']), { id: 'c4', changed: true, voters: ['c1', 'c2', 'c3'], learners: [], detail: '' });
  t.strictSame(await json(['leader', 'transfer']), { leader: 'c2', changed: true });
  t.strictSame(await json(['leader', 'transfer', 'c1']), { leader: 'c1', changed: false }, 'a transfer to the leader itself: changed false');
  t.strictSame(await json(['config', 'set', 'autopilot.cleanup_dead_servers', 'true']), { key: 'autopilot.cleanup_dead_servers', value: 'true', changed: false });
  // etcdctl's spelling, and text stays the default.
  t.strictSame(JSON.parse((await ctl([...e, 'kv', 'put', 'k', 'v', '-w', 'json'])).out), { key: 'k', revision: 12 });
  t.equal((await ctl([...e, 'kv', 'put', 'k', 'v'])).out, '12\n');
  const bad = await ctl([...e, 'kv', 'del', 'k', '-o', 'yaml']);
  t.equal(bad.code, 2, 'a format it does not have is a usage error');
  t.match(bad.err[0], /'yaml' is invalid\. Allowed choices are text, json/);
});

void t.test('audit --since asks for events from that long ago; -o json prints JSON Lines', async (t) => {
  const event = { time: 't', node: 'c1', type: 'leader.changed', subject: 'c1', from: 'c2', to: 'c1', reason: 'election' };
  const f = await serving(
    t,
    startFake({
      audit: (_r, call) => {
        call.write(event);
        call.write({ ...event, time: 't2' });
        call.end();
      },
    }),
  );
  const run = await ctl(['--endpoints', f.address, 'audit', '--since', '10m', '-o', 'json']);
  t.equal(run.code, 0);
  const lines = run.out.trimEnd().split('\n');
  t.equal(lines.length, 2);
  t.strictSame(JSON.parse(lines[0] ?? ''), event);
  t.match(f.calls[0]?.request, { sinceMs: 1_000_000 - 600_000, follow: false, sinceAgoMs: 600_000 }, 'and how long ago, for the server to count back by its own clock');
  const text = await ctl(['--endpoints', f.address, 'audit']);
  t.equal(text.out.split('\n')[0], 't c1 leader.changed c1 c2 -> c1 (election)');
  t.equal(f.calls[1]?.request['sinceMs'], 0);
  t.equal(f.calls[1]?.request['sinceAgoMs'], 0, 'no --since: everything retained');
});

void t.test("round 6's F5: audit asks for notes, and a controller's note that its trail lacks events is a warning on stderr", async (t) => {
  const event = { time: 't', node: 'c3', type: 'leader.changed', subject: 'c1', from: 'c2', to: 'c1', reason: 'election' };
  const dropped = { node: 'c3', count: 3, first: '2026-12-04T10:44:20.000Z', last: '2026-12-04T10:44:21.000Z', cause: 'IO error: Operation not permitted' };
  const note = { time: '', node: '', type: '', subject: '', from: '', to: '', reason: '', dropped };
  const f = await serving(
    t,
    startFake({
      audit: (_r, call) => {
        call.write(note);
        call.write(event);
        call.end();
      },
    }),
  );
  const run = await ctl(['--endpoints', f.address, 'audit', '-o', 'json']);
  t.equal(run.code, 0);
  t.match(f.calls[0]?.request, { notes: true }, 'the request says ctl understands notes');
  t.strictSame(run.out.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), [event], 'stdout holds the events only');
  t.strictSame(run.err, [
    'warning: c3 could not persist 3 audit events between 2026-12-04T10:44:20.000Z and 2026-12-04T10:44:21.000Z (IO error: Operation not permitted); its trail lacks them: ask another controller (--endpoints) for those',
  ]);
});

void t.test('audit --follow runs until interrupted and then exits 0', async (t) => {
  let interrupt: (() => void) | null = null;
  const f = await serving(
    t,
    startFake({
      audit: (_r, call) => {
        call.write({ time: 't', node: 'c1', type: 'member.added', subject: 'c4', from: '', to: '', reason: '' });
      },
    }),
  );
  const run = ctl(['--endpoints', f.address, 'audit', '--follow'], {}, (h) => {
    interrupt = h;
  });
  const deadline = Date.now() + 5000;
  while (interrupt === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  t.not(interrupt, null, 'registered a SIGINT handler');
  // Wait until the event has arrived, then interrupt.
  while (f.calls.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  (interrupt as unknown as () => void)();
  const result = await run;
  t.equal(result.code, 0);
  t.strictSame(result.err, []);
});

void t.test('status prints the raft state of the node that answered', async (t) => {
  const f = await serving(
    t,
    startFake({ unary: { Status: () => ({ id: 'c2', term: 4, leader: 'c1', role: 'follower', commitIndex: 7, voters: ['c1', 'c2'] }) } }),
  );
  const json = await ctl(['--endpoints', f.address, 'status', '-o', 'json']);
  t.match(JSON.parse(json.out), { id: 'c2', term: 4, leader: 'c1', role: 'follower', commitIndex: 7 });
  const text = await ctl(['--endpoints', f.address, 'status']);
  t.match(text.out, /^role: +follower$/m);
});

void t.test('endpoints come from --endpoints, else $CTL_ENDPOINTS', async (t) => {
  const f = await serving(t, startFake({ unary: { Status: () => ({ id: 'c9' }) } }));
  const viaEnv = await ctl(['status', '-o', 'json'], { CTL_ENDPOINTS: f.address });
  t.equal(viaEnv.code, 0);
  t.match(JSON.parse(viaEnv.out), { id: 'c9' });
  const flagWins = await ctl(['--endpoints', await deadAddress(), 'status'], { CTL_ENDPOINTS: f.address });
  t.equal(flagWins.code, 3);
  const badEnv = await ctl(['status'], { CTL_ENDPOINTS: 'a:b:c' });
  t.equal(badEnv.code, 2);
  t.match(badEnv.err[0], /^ctl: \$CTL_ENDPOINTS: expected host:port/);
});

void t.test('default endpoints are the node addresses of a cluster config', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(file, 'cluster:\n  nodes:\n    - { id: a, address: 127.0.0.1:1 }\n    - { id: b, address: "[::1]:2" }\n');
  t.strictSame(endpointsFromConfig(file), ['127.0.0.1:1', '[::1]:2']);
  t.throws(() => endpointsFromConfig(path.join(dir, 'missing.yaml')), { code: 'USAGE' });
  t.strictSame(parseEndpointList(' 127.0.0.1:1 , h:2', 'x'), ['127.0.0.1:1', 'h:2']);
  t.throws(() => parseEndpointList('', 'x'), { code: 'USAGE' });
  // Operator round 17: a list written with spaces was called an IPv6 address without brackets.
  t.throws(() => parseEndpointList('127.0.0.1:1 127.0.0.1:2', '$CTL_ENDPOINTS'), {
    code: 'USAGE',
    message: '$CTL_ENDPOINTS: expected endpoints separated by commas, found "127.0.0.1:1 127.0.0.1:2", which holds a space (write 127.0.0.1:1,127.0.0.1:2)',
  });
  // Review 61: a list separated by ';' was called an IPv6 address without brackets too.
  t.throws(() => parseEndpointList('127.0.0.1:1;127.0.0.1:2', '--endpoints'), {
    code: 'USAGE',
    message: '--endpoints: expected endpoints separated by commas, found "127.0.0.1:1;127.0.0.1:2", which holds a \';\' (write 127.0.0.1:1,127.0.0.1:2)',
  });
});

void t.test('usage errors exit 2 with exactly one stderr line', async (t) => {
  const cases: readonly (readonly string[])[] = [
    ['bogus'],
    [],
    ['kv'],
    ['kv', 'put', 'k'],
    ['kv', 'put', 'k', 'v', 'extra'],
    ['kv', 'put', 'k', 'v', '--if-revision', '-1'],
    ['list', 'controllers', '-o', 'xml'],
    ['--timeout', '5', 'status'],
    ['--timeout', '0s', 'status'],
    ['status', '--nope'],
    ['audit', '--since', 'yesterday'],
    ['--endpoints', '127.0.0.1:1', '--tls-cert', '/nonexistent', 'status'],
  ];
  for (const argv of cases) {
    const run = await ctl(argv);
    t.equal(run.code, 2, argv.join(' '));
    t.equal(run.err.length, 1, `one line for ${argv.join(' ')}`);
    t.match(run.err[0], /^ctl: \S/);
    t.notMatch(run.err[0], /\n/);
    t.equal(run.out, '');
  }
});

void t.test('--help works on every command and exits 0', async (t) => {
  for (const argv of [[], ['list'], ['list', 'controllers'], ['kv', 'put'], ['member', 'add'], ['leader', 'transfer'], ['audit']]) {
    const run = await ctl([...argv, '--help']);
    t.equal(run.code, 0, argv.join(' '));
    t.match(run.out, /^Usage: ctl/);
  }
});

void t.test('help walks every word of a command path and names a word it does not know', async (t) => {
  for (const [argv, usage] of [
    [['help', 'kv', 'put'], 'Usage: ctl kv put '],
    [['help', 'member', 'add'], 'Usage: ctl member add '],
    [['kv', 'help', 'put'], 'Usage: ctl kv put '],
    [['help'], 'Usage: ctl [options]'],
  ] as const) {
    const run = await ctl(argv);
    t.equal(run.code, 0, argv.join(' '));
    t.ok(run.out.startsWith(usage), `${argv.join(' ')} shows ${usage}`);
    t.strictSame(run.err, []);
  }
  const unknown = await ctl(['help', 'kv', 'nosuch']);
  t.equal(unknown.code, 2, 'an unknown word is a usage error');
  t.strictSame(unknown.err, ["ctl: unknown command 'nosuch' in 'help kv nosuch' (see ctl --help)"]);
  t.equal(unknown.out, '');
  const group = await ctl(['kv']);
  t.equal(group.code, 2, 'a group without its subcommand stays a usage error');
  t.match(group.err[0], /^ctl: missing command; usage: ctl kv /);
});

void t.test('health: a leader whose commit index stands still while entries wait is unhealthy', async (t) => {
  const healthy = judgeHealth(view());
  const leader = { id: 'c1', cluster: 'x', role: 'leader', term: 3, leader: 'c1', commitIndex: 40, appliedIndex: 40, lastIndex: 41, firstIndex: 1, snapshotIndex: 0, voters: [], learners: [], version: '0', clusterId: '', commitStallMs: 9000, commitStalled: true, stale: false, staleReason: '', clusterVersion: '0.2' };
  t.match(judgeCommitProgress(healthy, leader), { healthy: false, reason: "leader c1's commit index (40) has not moved for 9000ms while entries up to 41 wait" });
  t.strictSame(judgeCommitProgress(healthy, { ...leader, commitStalled: false }), healthy, 'a commit index that moves is fine');
  t.strictSame(judgeCommitProgress(healthy, null), healthy, 'a leader that cannot be asked: the view decides');
});

void t.test('an endpoint that accepts TCP and never answers costs the connect timeout, not a TLS probe after it', async (t) => {
  const endpoint = await hungEndpoint(t);
  const started = performance.now();
  // --timeout 2s: a connect timeout of 1 s; ctl's TLS probe would wait 2 s more.
  const r = await ctl(['--endpoints', endpoint, '--timeout', '2s', 'status']);
  const tookMs = performance.now() - started;
  t.equal(r.code, 3, 'unreachable');
  t.match(r.err.join('\n'), `tried ${endpoint} (no connection within 1000ms)`);
  t.ok(tookMs < 2_500, `answered after the connect timeout, without a 2 s probe of the silent endpoint (${Math.round(tookMs)}ms)`);
});

void t.test('operator round 17: member add at an address where a program answers, but not in gRPC (a metrics port), adds nothing, exit 2', async (t) => {
  const f = await serving(t, startFake({ unary: { MemberAdd: () => ({ voters: ['c1', 'c2', 'c3'], learners: ['c4'] }) } }));
  const metrics = http.createServer((_req, res) => res.end('# metrics\n'));
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => metrics.close(() => resolve())));
  const port = (metrics.address() as net.AddressInfo).port;
  const run = await ctl(['--endpoints', f.address, 'member', 'add', 'c4', `127.0.0.1:${port}`]);
  t.equal(run.code, 2, run.err.join('\n'));
  t.match(run.err[0], new RegExp(`^ctl: member add: 127\\.0\\.0\\.1:${port} answers, but not in gRPC \\(HTTP/2\\): another program holds it \\(a metrics port\\?`));
  t.notOk(f.calls.some((c) => c.method === 'MemberAdd'), 'nothing added');
});

void t.test('ops55: no endpoint connected within a connect timeout --timeout shortened: the error names --timeout', (t) => {
  const endpoints = ['a:1', 'b:2'];
  const session = (timeoutMs: number): { endpoints(): readonly string[]; timeoutMs(): number } => ({ endpoints: () => endpoints, timeoutMs: () => timeoutMs });
  const allSilent = new UnreachableError('no endpoint answered; tried a:1 (no connection within 25ms), b:2 (no connection within 25ms)', endpoints);
  t.equal(
    shortTimeoutHint(allSilent, session(50)),
    'no connection came up within 25ms, half of --timeout 50ms: if the controllers are up, connecting takes longer here (a loaded host or a slow network); raise --timeout',
  );
  t.equal(shortTimeoutHint(allSilent, session(5000)), null, 'at the 2.5 s cap a longer --timeout would not wait longer: no hint');
  t.equal(shortTimeoutHint(new UnreachableError('no endpoint answered; tried ...', ['a:1']), session(50)), null, 'one endpoint refused or failed otherwise: its own reason stands');
  t.equal(shortTimeoutHint(new Error('x'), session(50)), null);
  t.end();
});
