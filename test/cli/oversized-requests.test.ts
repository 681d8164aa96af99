/**
 * Requests over a limit are refused by `ctl` before they are sent, naming the size and the
 * limit, exit 2: a value over 1 MiB, an apply over 2 MiB. Before, anything over gRPC's 4 MiB
 * message limit came back as "Received message larger than max (N vs M)", exit 1. Whatever
 * still meets that limit (RESOURCE_EXHAUSTED) (a request ctl does not size itself) gets the same clear answer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { classify } from '../../src/api/failover.js';
import { ApiError, exitCodeFor } from '../../src/api/errors.js';
import type { CtlIo } from '../../src/cli/ctl/context.js';
import { readValueInput } from '../../src/cli/ctl/value-input.js';
import { runCtl } from '../../src/cli/ctl/program.js';
import { startFake, type Fake } from './fake-controller.js';

type Teardown = { teardown(fn: () => unknown): void };

async function ctl(argv: readonly string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const io: CtlIo = { env: {}, out: () => undefined, err: (line) => void err.push(line), now: () => 0, onInterrupt: () => () => undefined };
  return { code: await runCtl(argv, io), err };
}

async function fake(t: Teardown): Promise<Fake> {
  const f = await startFake({ unary: { Put: () => ({ revision: 1 }), ConfigSet: () => ({}) } });
  t.teardown(() => f.stop());
  return f;
}

function tempDir(t: Teardown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-oversized-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

void t.test('kv put --file of a 5 MB file is refused before sending: exit 2, the size and the 1 MiB limit', async (t) => {
  const f = await fake(t);
  const file = path.join(tempDir(t), '5m.bin');
  fs.writeFileSync(file, Buffer.alloc(5_000_000, 7));
  const run = await ctl(['--endpoints', f.address, 'kv', 'put', 'big3', '--file', file]);
  t.equal(run.code, 2);
  t.match(run.err, [/^ctl: field "value" must be at most 1048576 bytes, found 5000000 in .*5m\.bin$/]);
  t.equal(f.calls.length, 0, 'nothing sent');
});

void t.test('a value from a file that is no regular file (/dev/zero, endless) is read only until it is over the limit', async (t) => {
  const f = await fake(t);
  const run = await ctl(['--endpoints', f.address, 'kv', 'put', 'zero', '--file', '/dev/zero']);
  t.equal(run.code, 2);
  t.match(run.err, [/^ctl: field "value" must be at most 1048576 bytes, found more in \/dev\/zero \(read no further\)$/]);
  t.equal(f.calls.length, 0, 'nothing sent');
  const file = path.join(tempDir(t), 'abc');
  fs.writeFileSync(file, 'abc');
  t.same(Buffer.from(await readValueInput(file, 3)), Buffer.from('abc'), 'up to the limit it is the bytes');
  let pulled = 0;
  async function* endless(): AsyncGenerator<Buffer> {
    for (;;) {
      pulled++;
      yield Buffer.alloc(64 * 1024);
    }
  }
  await t.rejects(readValueInput('-', 1_048_576, endless()), /must be at most 1048576 bytes, found more in stdin \(read no further\)/, 'an endless stdin is refused');
  t.equal(pulled, 17, 'after 17 chunks of 64 KiB, the first past 1 MiB');
  async function* small(): AsyncGenerator<Buffer> {
    yield Buffer.from('ab');
    yield Buffer.from('c');
  }
  t.same(Buffer.from(await readValueInput('-', 3, small())), Buffer.from('abc'), 'stdin up to the limit is its bytes');
  await t.rejects(readValueInput(file, 2), /must be at most 2 bytes, found 3 in .*abc$/);
});

void t.test('a value over 1 MiB given to the client is refused before sending', async (t) => {
  const f = await fake(t);
  const run = await ctl(['--endpoints', f.address, 'kv', 'put', 'big', 'x'.repeat(1_048_577)]);
  t.equal(run.code, 2);
  t.match(run.err, [/must be at most 1048576 bytes, found 1048577/]);
  t.equal(f.calls.length, 0, 'nothing sent');
});

void t.test('apply -f of a file whose resources exceed 2 MiB is refused before sending: exit 2, the size and the limit', async (t) => {
  const f = await fake(t);
  const file = path.join(tempDir(t), 'big.yaml');
  const labels = Array.from({ length: 20 }, (_, i) => `    l${i}: "${'v'.repeat(100)}"`).join('\n');
  const services = Array.from({ length: 2000 }, (_, s) => `- kind: service\n  name: s${s}\n  spec: { protocol: http, ports: [80] }\n  labels:\n${labels}`);
  fs.writeFileSync(file, `${services.join('\n')}\n`);
  const run = await ctl(['--endpoints', f.address, 'apply', '-f', file]);
  t.equal(run.code, 2);
  t.match(run.err, [/^ctl: resources: expected at most 2097152 bytes, found \d{7} \(encoded as JSON\)$/]);
  t.equal(f.calls.length, 0, 'nothing sent');
});

void t.test("a request over gRPC's message limit is answered as too large, naming both sizes, exit 2", async (t) => {
  const f = await fake(t);
  // config set sizes nothing itself: the server's gRPC layer refuses the 5 MB message.
  const run = await ctl(['--endpoints', f.address, 'config', 'set', 'services.vip_cidr', 'x'.repeat(5_000_000)]);
  t.equal(run.code, 2);
  t.match(run.err, [/^ctl: a gRPC message of 50000\d\d bytes is over the limit of 4194304 bytes per message$/]);
});

void t.test('RESOURCE_EXHAUSTED "larger than max" is final and a usage error; other RESOURCE_EXHAUSTED is not', async (t) => {
  const oversized = Object.assign(new Error('x'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (5000059 vs 4194304)' });
  const outcome = classify(oversized, '127.0.0.1:1');
  t.equal(outcome.kind, 'final');
  const error = outcome.kind === 'final' ? outcome.error : null;
  t.ok(error instanceof ApiError);
  t.match(error, { code: 'INVALID_ARGUMENT', message: 'a gRPC message of 5000059 bytes is over the limit of 4194304 bytes per message' });
  t.equal(exitCodeFor(error), 2);
  const other = classify(Object.assign(new Error('x'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many streams' }), '127.0.0.1:1');
  t.match(other, { kind: 'final', error: { code: 'INTERNAL' } });
});

void t.test('apply -f and snapshot status judge a file by its size or first bytes, not by reading it all', async (t) => {
  const f = await fake(t);
  const dir = tempDir(t);
  const sparse = path.join(dir, 'big.sparse');
  fs.closeSync(fs.openSync(sparse, 'w'));
  fs.truncateSync(sparse, 3 * 1024 * 1024 * 1024);
  const apply = await ctl(['--endpoints', f.address, 'apply', '-f', sparse]);
  t.equal(apply.code, 2);
  t.match(apply.err, [/big\.sparse: expected a resources file of at most 16777216 bytes, found 3221225472$/]);
  const zero = await ctl(['--endpoints', f.address, 'apply', '-f', '/dev/zero']);
  t.match(zero.err, [/\/dev\/zero: expected a resources file of at most 16777216 bytes, found more$/], 'an endless device: read no further than the bound');
  const status = await ctl(['snapshot', 'status', sparse]);
  t.equal(status.code, 1);
  t.match(status.err, [/big\.sparse: expected a file made by `ctl snapshot save`/], 'a 3 GB file of something else is refused from its first bytes');
  t.equal(f.calls.length, 0, 'nothing sent');
});
