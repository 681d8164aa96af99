/**
 * Finding 5 of issue 10 on real processes: 1,000,000 bytes of U+0001 became about 6 MB as JSON,
 * over the 4 MiB peer message limit; the leader kept an entry it could never send and every
 * later write timed out (reproduced on the version before: the put and every later put failed).
 * Values now travel as bytes; any bytes can be stored.
 *
 * One cluster serves the three cases (each writes keys of its own and leaves the cluster
 * healthy): a cluster per case was two thirds of the file's CPU.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CTL_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { nodeCommand } from '../helpers/node-command.js';
import { waitFor } from '../helpers/wait-for.js';

const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
t.teardown(() => cluster.stop());
t.before(async () => {
  cluster.startAll();
  await cluster.waitForLeader();
});

void t.test('a 1,000,000-byte control-character value is stored and replicated, and writes go on', async (t) => {
  const client = cluster.client();
  t.teardown(() => client.close());
  const value = '\u0001'.repeat(1_000_000);
  const { revision } = await client.put('ctl-chars', value);
  t.ok(revision > 0, `stored at revision ${revision}`);
  for (const id of cluster.ids) {
    const replica = cluster.client([id]);
    await cluster.explainFailure(
      waitFor(async () => (await replica.get('ctl-chars', { serializable: true }).catch(() => null))?.value.byteLength === 1_000_000, `${id} to hold it`, 20000),
    );
    const got = await replica.get('ctl-chars', { serializable: true });
    t.ok(Buffer.from(got.value).equals(Buffer.from(value)), `${id} holds the same 1,000,000 bytes`);
    replica.close();
  }
  for (let i = 0; i < 20; i++) await client.put(`after${i}`, 'x');
  t.pass('20 later writes succeed');
  const health = await cluster.ctl(['health']);
  t.equal(health.code, 0, `ctl health: ${health.stdout}${health.stderr}`);
});

/** `ctl` with bytes on stdin; resolves with its exit code and raw stdout. */
function ctlWithInput(endpoints: string, args: readonly string[], input: Uint8Array | null): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const cmd = nodeCommand(CTL_JS, ['--endpoints', endpoints, ...args]);
    const p = spawn(cmd.command, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
    p.stdin.end(input ?? undefined);
  });
}

void t.test('ctl stores any bytes with --file (or stdin) and gives them back raw, or as valueBase64 in json', async (t) => {
  const ends = cluster.endpoints();
  const control = Buffer.from('\u0001'.repeat(1_000_000));
  const viaStdin = await ctlWithInput(ends, ['kv', 'put', 'ctl-stdin', '--file', '-'], control);
  t.equal(viaStdin.code, 0, `1,000,000 bytes of U+0001 from stdin: ${viaStdin.stderr}`);
  const raw = await ctlWithInput(ends, ['kv', 'get', 'ctl-stdin'], null);
  t.ok(raw.stdout.equals(Buffer.concat([control, Buffer.from('\n')])), 'kv get writes them back, then a newline');
  const file = path.join(cluster.dir, 'value.bin');
  const bin = Buffer.from([0, 0xff, 0xfe, 0x80, 10, 13, 0]);
  fs.writeFileSync(file, bin);
  t.equal((await ctlWithInput(ends, ['kv', 'put', 'bin', '--file', file], null)).code, 0, 'a binary file');
  const json = await ctlWithInput(ends, ['kv', 'get', 'bin', '-o', 'json'], null);
  const parsed = JSON.parse(json.stdout.toString()) as Record<string, unknown>;
  t.same(Object.keys(parsed), ['key', 'valueBase64', 'revision'], 'not UTF-8: valueBase64 instead of value');
  t.ok(Buffer.from(String(parsed['valueBase64']), 'base64').equals(bin), 'the same bytes');
  const rawBin = await ctlWithInput(ends, ['kv', 'get', 'bin'], null);
  t.ok(rawBin.stdout.equals(bin), 'plain get writes the raw bytes, nothing after them');
  const tooBig = await ctlWithInput(ends, ['kv', 'put', 'big', '--file', '-'], Buffer.alloc(1024 * 1024 + 1));
  t.equal(tooBig.code, 2, 'one byte over 1 MiB is refused as invalid (exit 2)');
  t.match(tooBig.stderr, /"value" must be at most 1048576 bytes, found more in stdin \(read no further\)/);
});

void t.test('a value that is not UTF-8 round-trips', async (t) => {
  const client = cluster.client();
  t.teardown(() => client.close());
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  await client.put('binary', every);
  t.same(Buffer.from((await client.get('binary')).value), Buffer.from(every), 'every byte value, back as written');
  const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7919) % 256);
  await client.put('binary-1mib', big);
  t.ok(Buffer.from((await client.get('binary-1mib')).value).equals(Buffer.from(big)), 'a 1 MiB binary value too');
  const tooBig = await client.put('too-big', new Uint8Array(1024 * 1024 + 1)).then(
    () => null,
    (err: unknown) => err,
  );
  t.match(tooBig, { code: 'INVALID_ARGUMENT', message: /"value" must be at most 1048576 bytes/ }, 'one byte more is refused with the reason');
});
