/**
 * The etcdctl-grade tools on real processes: kv get --prefix, watch (from a revision, ended by
 * Ctrl-C with exit 0), endpoint status --cluster (each member asked directly), snapshot save
 * and status (a damaged copy refused), and the list controllers table within 100 columns.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CTL_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { nodeCommand } from '../helpers/node-command.js';
import { guardChild } from '../helpers/reaper.js';
import { waitFor } from '../helpers/wait-for.js';

interface EndpointRow {
  readonly endpoint: string;
  readonly id: string | null;
  readonly role: string | null;
  readonly leader: string | null;
  readonly dbSizeBytes: number | null;
  readonly latencyMs: number | null;
  readonly errors: readonly string[];
}

void t.test('operator tools against a 3-node cluster', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  const first = (await client.put('app/a', '1')).revision;
  await client.put('app/b', '2');
  await client.put('other', 'x');
  await client.put('app/c', Buffer.from([0xff, 0xfe]));

  await t.test('kv get --prefix reads a bounded range on the server', async (t) => {
    const text = await cluster.ctl(['kv', 'get', 'app/', '--prefix']);
    t.equal(text.code, 0, text.stderr);
    t.match(text.stdout, /^app\/a\n1\napp\/b\n2\napp\/c\n/);
    const binary = JSON.parse((await cluster.ctl(['kv', 'get', 'app/c', '--prefix', '-o', 'json'])).stdout) as { kvs: Record<string, unknown>[] };
    t.match(binary.kvs[0], { key: 'app/c', valueBase64: Buffer.from([0xff, 0xfe]).toString('base64') }, 'a value that is not UTF-8 comes as base64');
    const json = await cluster.ctl(['kv', 'get', 'app/', '--prefix', '-w', 'json', '--limit', '2']);
    t.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { kvs: { key: string }[]; count: number; more: boolean };
    t.strictSame(answer.kvs.map((kv) => kv.key), ['app/a', 'app/b']);
    t.match(answer, { count: 2, more: true });
    t.match(json.stderr, /warning: more keys start with "app\/"; shown the first 2/);
    t.equal((await cluster.ctl(['kv', 'get', 'app/', '--prefix', '--limit', '0'])).code, 2, 'a limit of 0 is a usage error');
  });

  await t.test('watch from a revision replays, follows, and ends with exit 0 on Ctrl-C', async (t) => {
    const cmd = nodeCommand(CTL_JS, ['--endpoints', cluster.endpoints(), 'watch', 'app/', '--prefix', '--rev', String(first), '-o', 'json']);
    const watch = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    guardChild(watch);
    let out = '';
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
    await waitFor(() => out.split('\n').length > 3, 'the replay of the three earlier changes', 15000);
    await client.put('app/d', '4');
    await client.delete('app/a');
    await client.put('other', 'y');
    await waitFor(() => out.includes('"DELETE"'), 'the delete to be watched', 15000);
    watch.kill('SIGINT');
    t.equal(await exited, 0, 'Ctrl-C ends the watch cleanly');
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; key: string; revision: number });
    t.strictSame(events.map((e) => `${e.type} ${e.key}`), ['PUT app/a', 'PUT app/b', 'PUT app/c', 'PUT app/d', 'DELETE app/a'], 'in revision order, only keys under the prefix');
    t.equal(events[0]!.revision, first);
  });

  await t.test('endpoint status --cluster: one row per member, from the member itself', async (t) => {
    const run = await cluster.ctl(['endpoint', 'status', '--cluster', '-o', 'json'], cluster.endpoints([leader]));
    t.equal(run.code, 0, run.stderr);
    const rows = JSON.parse(run.stdout) as EndpointRow[];
    t.strictSame(rows.map((r) => r.id).sort(), [...cluster.ids].sort());
    for (const r of rows) {
      t.equal(r.endpoint, cluster.addresses.get(r.id!), `${r.id} answered at its own address`);
      t.equal(r.leader, leader, `${r.id} names the leader`);
      t.equal(r.role, r.id === leader ? 'leader' : 'follower');
      t.ok((r.dbSizeBytes ?? 0) > 0, `${r.id} reports its database size`);
      t.ok((r.latencyMs ?? -1) >= 0, 'with the round trip it took');
      t.strictSame(r.errors, []);
    }
    const table = await cluster.ctl(['endpoint', 'status', '--cluster']);
    t.match(table.stdout, /^ENDPOINT +ID +VERSION +DB-SIZE +ROLE +LEADER +TERM +COMMIT +APPLIED +LATENCY +ERRORS\n/);
  });

  await t.test('the list controllers table fits in 100 columns and names who answered', async (t) => {
    const run = await cluster.ctl(['list', 'controllers'], cluster.endpoints([leader]));
    t.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    t.equal(lines[0], `answered by ${leader} (current view)`);
    t.match(lines[1], /^ID +ADDRESS +STATUS +ROLE +LAST-CONTACT +LAG +VERSION$/);
    t.ok(Math.max(...lines.map((l) => l.length)) < 100);
    t.notMatch(run.stdout, /[│┌─]/, 'no borders');
  });

  await t.test('snapshot save writes a verified file; snapshot status refuses a damaged copy', async (t) => {
    const file = path.join(cluster.dir, 'backup.snap');
    const save = await cluster.ctl(['snapshot', 'save', file, '-o', 'json']);
    t.equal(save.code, 0, save.stderr);
    const saved = JSON.parse(save.stdout) as { index: number; revision: number; size: number; sha256: string };
    t.ok(saved.index > 0 && saved.revision >= 4 && saved.size > 0 && saved.size < fs.statSync(file).size, 'index, revision and size');
    const status = JSON.parse((await cluster.ctl(['snapshot', 'status', file, '-o', 'json'])).stdout) as { sha256: string; keys: number; members: string[] };
    t.equal(status.sha256, saved.sha256);
    t.ok(status.keys >= 4, `${status.keys} keys`);
    t.strictSame(status.members, cluster.ids);
    t.strictSame(fs.readdirSync(cluster.dir).filter((f) => f.includes('.part')), [], 'no temporary file left behind');
    const cut = path.join(cluster.dir, 'cut.snap');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 100));
    const refused = await cluster.ctl(['snapshot', 'status', cut]);
    t.equal(refused.code, 1);
    t.match(refused.stderr, /cut\.snap: .*(cut short|ends inside)/);
  });
});
