/**
 * Finding 5 of issue 10 on real processes: 1,000,000 bytes of U+0001 became about 6 MB as JSON,
 * over the 4 MiB peer message limit; the leader kept an entry it could never send and every
 * later write timed out (reproduced on the version before: the put and every later put failed).
 * Values now travel as bytes; any bytes can be stored.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

void t.test('a 1,000,000-byte control-character value is stored and replicated, and writes go on', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
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

void t.test('a value that is not UTF-8 round-trips', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
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
