/**
 * The config file read again on SIGHUP (src/config/config-reload.ts): log_level taken at once,
 * other changes named as waiting for a restart (and a change in spelling only is none), a file
 * that fails the start's checks changing nothing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { changedKeys, ConfigReloader } from '../../src/config/config-reload.js';
import { loadNodeConfig } from '../../src/config/load.js';
import { checkStartable } from '../../src/cli/start-checks.js';
import { selfAddressProblem } from '../../src/node/file-addresses.js';
import { restartProblem } from '../../src/node/restart-problems.js';
import { omittedMemberWarnings } from '../../src/config/omitted-members.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-reload-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const base = (extra: { logLevel?: string; election?: string; nodes?: string } = {}): string =>
  [
    'cluster:',
    '  nodes:',
    '    - { id: c1, address: "127.0.0.1:7101" }',
    '    - { id: c2, address: "127.0.0.1:7102" }',
    ...(extra.nodes === undefined ? [] : [extra.nodes]),
    'controller:',
    `  data_dir: ${dir}/data/\${id}`,
    `  log_level: ${extra.logLevel ?? 'info'}`,
    'raft:',
    `  election_timeout: ${extra.election ?? '1s'}`,
    '',
  ].join('\n');

let files = 0;

function started(): { file: string; reloader: ConfigReloader } {
  const file = path.join(dir, `c-${++files}.yaml`);
  fs.writeFileSync(file, base());
  const reloader = ConfigReloader.fromStart(file, 'c1', loadNodeConfig(file, 'c1', dir), (next) => checkStartable(file, next), dir);
  return { file, reloader };
}

void t.test('log_level is taken at once; a second reload of the same file changes nothing', async (t) => {
  const { file, reloader } = started();
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: [], clusterSettings: [], membersLeftOut: [] }, 'the file as it was');
  fs.writeFileSync(file, base({ logLevel: 'debug' }));
  t.same(reloader.reload(), { ok: true, logLevel: { from: 'info', to: 'debug' }, restartNeeded: [], clusterSettings: [], membersLeftOut: [] });
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: [], clusterSettings: [], membersLeftOut: [] }, 'debug is now in force');
});

void t.test('other keys are named as waiting for a restart, until the file says what is in force again', async (t) => {
  const { file, reloader } = started();
  fs.writeFileSync(file, base({ election: '2s', logLevel: 'warn' }));
  t.same(reloader.reload(), { ok: true, logLevel: { from: 'info', to: 'warn' }, restartNeeded: ['raft.election_timeout'], clusterSettings: [], membersLeftOut: [] });
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: ['raft.election_timeout'], clusterSettings: [], membersLeftOut: [] }, 'still waiting: it was never applied');
  fs.writeFileSync(file, base({ election: '1000ms', logLevel: 'warn' }));
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: [], clusterSettings: [], membersLeftOut: [] }, '1000ms is the 1s in force: no change');
  fs.writeFileSync(file, base({ logLevel: 'warn', nodes: '    - { id: c3, address: "127.0.0.1:7103" }' }));
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: ['cluster.nodes'], clusterSettings: [], membersLeftOut: [] }, 'a list is named whole');
});

void t.test('a file that fails the checks, or cannot be read, changes nothing and says why', async (t) => {
  const { file, reloader } = started();
  fs.writeFileSync(file, base({ logLevel: 'loud' }));
  const bad = reloader.reload();
  t.match(bad, { ok: false, reason: /controller\.log_level: expected one of trace, debug, info, warn, error, fatal, silent, found the string "loud" \(line 7\)/ });
  fs.writeFileSync(file, base().replace('id: c1', 'id: c9'));
  t.match(reloader.reload(), { ok: false, reason: /c1/ }, 'its own id gone from the file');
  fs.rmSync(file);
  t.match(reloader.reload(), { ok: false, reason: /^cannot read .*ENOENT/ });
  fs.writeFileSync(file, base({ logLevel: 'debug' }));
  t.same(reloader.reload(), { ok: true, logLevel: { from: 'info', to: 'debug' }, restartNeeded: [], clusterSettings: [], membersLeftOut: [] }, 'the refusals left info in force');
});

void t.test("a file a start would refuse for its TLS files or its data dir is refused with the start's words, changing nothing", async (t) => {
  const { file, reloader } = started();
  const missingTls = 'tls:\n  ca: /nonexistent/ca.crt\n  cert: /nonexistent/c.crt\n  key: /nonexistent/c.key\n';
  fs.writeFileSync(file, base({ logLevel: 'debug' }) + missingTls);
  t.same(reloader.reload(), { ok: false, reason: `${file}: tls.ca: /nonexistent/ca.crt: cannot read it (no such file)` }, 'the missing CA named as a start names it');
  let startSaid = '';
  try {
    checkStartable(file, loadNodeConfig(file, 'c1', dir));
  } catch (err) {
    startSaid = (err as Error).message;
  }
  t.match(startSaid, /tls\.ca/, 'a start refuses the file');
  t.match(reloader.reload(), { ok: false, reason: startSaid }, 'the very message a start prints');

  const blocker = path.join(dir, 'a-file');
  fs.writeFileSync(blocker, '');
  fs.writeFileSync(file, base({ logLevel: 'debug' }).replace(`data_dir: ${dir}/data/\${id}`, `data_dir: ${blocker}/\${id}`));
  t.same(reloader.reload(), { ok: false, reason: `${file}: controller.data_dir: ${blocker}/c1: cannot create it: a parent, ${blocker}, is a regular file` });

  const fresh = path.join(dir, 'fresh');
  fs.writeFileSync(file, base().replace(`data_dir: ${dir}/data/\${id}`, `data_dir: ${fresh}/\${id}`));
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: ['controller.data_dir'], clusterSettings: [], membersLeftOut: [] }, 'a data dir a start can create passes');
  t.notOk(fs.existsSync(fresh), 'and the reload did not create it (nor anything on the way)');
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('.data-dir-check-')), [], 'the probe left nothing behind');

  fs.writeFileSync(file, base({ logLevel: 'debug' }));
  t.same(reloader.reload(), { ok: true, logLevel: { from: 'info', to: 'debug' }, restartNeeded: [], clusterSettings: [], membersLeftOut: [] }, 'the refusals left info in force');
});

void t.test('changedKeys: dotted keys, added and removed ones, lists whole', async (t) => {
  t.same(changedKeys({ a: { b: 1, c: [1] } }, { a: { b: 2, c: [1] } }), ['a.b']);
  t.same(changedKeys({ a: 1 }, { a: 1, b: { c: 2, d: { e: 3 } } }), ['b.c', 'b.d.e'], 'a block added: named by its keys');
  t.same(changedKeys({ a: 1, b: { c: 2 } }, { a: 1 }), ['b.c'], 'a block removed');
  t.same(changedKeys({ a: [1, 2] }, { a: [2, 1] }), ['a']);
  t.same(changedKeys(null, { a: 1 }), ['(the whole file)']);
  t.same(changedKeys({ a: 1 }, { a: 1 }), []);
});

void t.test('a FIFO or a device put in the file\'s place is refused at once, changing nothing', async (t) => {
  const { file, reloader } = started();
  fs.rmSync(file);
  t.equal(spawnSync('mkfifo', [file]).status, 0, 'the config file is now a FIFO with no writer');
  t.match(reloader.reload(), { ok: false, reason: `cannot read ${file}: a FIFO (named pipe)` });
  fs.rmSync(file);
  fs.symlinkSync('/dev/zero', file);
  t.match(reloader.reload(), { ok: false, reason: `cannot read ${file}: a character device` });
  fs.rmSync(file);
  fs.writeFileSync(file, base({ logLevel: 'debug' }));
  t.match(reloader.reload(), { ok: true, logLevel: { from: 'info', to: 'debug' } }, 'the file back: reloaded');
});

void t.test('cluster-wide settings changed in the file are named as such, not as waiting for a restart', async (t) => {
  const { file, reloader } = started();
  fs.writeFileSync(file, base() + 'services:\n  vip_cidr: 10.77.0.0/16\nagents:\n  dependency_ttl: 10m\n');
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: [], clusterSettings: ['agents.dependency_ttl', 'services.vip_cidr'], membersLeftOut: [] });
  fs.writeFileSync(file, base({ election: '2s' }) + 'services:\n  vip_cidr: 10.77.0.0/16\nagents:\n  dependency_ttl: 10m\n');
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: ['raft.election_timeout'], clusterSettings: ['agents.dependency_ttl', 'services.vip_cidr'], membersLeftOut: [] }, 'beside a key that waits for a restart');
});

void t.test("a file whose own address is not the cluster's is refused with the words a start stops with", async (t) => {
  const file = path.join(dir, `c-${++files}.yaml`);
  fs.writeFileSync(file, base());
  // The running node's view: the cluster dials c1 where the file first put it.
  const members = [{ id: 'c1', address: '127.0.0.1:7101' }, { id: 'c2', address: '127.0.0.1:7102' }];
  const reloader = ConfigReloader.fromStart(file, 'c1', loadNodeConfig(file, 'c1', dir), (next) => checkStartable(file, next), dir, (next) => restartProblem(next, { clusterName: 'default', dataDir: next.dataDir }, members));
  fs.writeFileSync(file, base({ logLevel: 'debug' }).replace('127.0.0.1:7101', '127.0.0.1:7191'));
  const moved = reloader.reload();
  t.same(moved, { ok: false, reason: selfAddressProblem(file, { id: 'c1', address: '127.0.0.1:7191' }, members) }, 'refused, not "in force after a restart"');
  t.match(moved, { reason: /^.*: cluster\.nodes lists this member, c1, at 127\.0\.0\.1:7191, but the cluster has it at 127\.0\.0\.1:7101/ });
  fs.writeFileSync(file, base({ logLevel: 'debug' }).replace('127.0.0.1:7102', '127.0.0.1:7192'));
  t.same(reloader.reload(), { ok: true, logLevel: { from: 'info', to: 'debug' }, restartNeeded: ['cluster.nodes'], clusterSettings: [], membersLeftOut: [] }, "another member's address only waits for a restart (which warns)");
  // A cluster.name the peers would refuse: the running name is "default" (the file writes none).
  fs.writeFileSync(file, base().replace('cluster:\n', 'cluster:\n  name: prod\n'));
  t.match(reloader.reload(), { ok: false, reason: `${file}: cluster.name: "prod", but this controller and its peers (c2) run cluster "default"` }, 'a name its peers refuse');
});

void t.test('operator round 17: a file that leaves out a member is reloaded, and the member named: no restart removes it', async (t) => {
  const file = path.join(dir, `c-${++files}.yaml`);
  fs.writeFileSync(file, base({ nodes: '    - { id: c3, address: "127.0.0.1:7103" }' }));
  const members = [
    { id: 'c1', role: 'voter' as const },
    { id: 'c2', role: 'voter' as const },
    { id: 'c3', role: 'voter' as const },
  ];
  const reloader = ConfigReloader.fromStart(file, 'c1', loadNodeConfig(file, 'c1', dir), (next) => checkStartable(file, next), dir, undefined, (next) => omittedMemberWarnings(next.file, next.nodes, members));
  t.same(reloader.reload(), { ok: true, logLevel: null, restartNeeded: [], clusterSettings: [], membersLeftOut: [] }, 'every member listed');
  fs.writeFileSync(file, base());
  const dropped = reloader.reload();
  t.match(dropped, { ok: true, restartNeeded: ['cluster.nodes'], membersLeftOut: [/cluster\.nodes does not list c3, a voter of the cluster .* If c3 is gone for good, remove it: ctl member remove c3/] });
});
