/**
 * The whole-save allowance of SnapshotSave on a real grpc-js server: a client that reads a
 * message every 20 ms (never near the stall limit) hears the allowance's status, short of the
 * trailer, and the next save, by a grpc-js client, is served whole (attack-33 G9: one chunk a
 * minute held the controller's only save slot for hours). The slow reader is a plain HTTP/2
 * client, whose paused stream takes no more than its flow-control window: a paused grpc-js call
 * may go on reading its stream ahead of the caller (the whole 16 MiB within 60 ms in some runs,
 * so the save ended before its allowance and the test failed at random).
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import t, { type Test } from 'tap';
import { SNAPSHOT_CHUNK_BYTES, snapshotSaveHandler, type SnapshotChunkMsg, type SnapshotSaveLimits } from '../../src/api/snapshot-save.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { oneMessageRequests } from '../../src/transport/unended-requests.js';
import { FakeConsensus } from './fake-consensus.js';

/** What the client sees of a message: its kind, and a data chunk's length. */
type Seen = { readonly kind: 'header' | 'trailer' } | { readonly kind: 'data'; readonly bytes: number };

const encode = (m: SnapshotChunkMsg): Buffer =>
  'header' in m ? Buffer.from(`H${JSON.stringify(m.header)}`) : 'data' in m ? Buffer.concat([Buffer.from('D'), m.data]) : Buffer.from(`T${m.trailer.sha256}`);
const decode = (b: Buffer): Seen => (b[0] === 0x48 ? { kind: 'header' } : b[0] === 0x54 ? { kind: 'trailer' } : { kind: 'data', bytes: b.length - 1 });
const METHOD: grpc.MethodDefinition<Buffer, SnapshotChunkMsg> = {
  path: '/test.Operator/SnapshotSave',
  requestStream: false,
  responseStream: true,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: encode,
  responseDeserialize: () => {
    throw new Error('unused');
  },
};
const CHUNKS = 256;

async function serve(t: Test, limits: SnapshotSaveLimits): Promise<{ client: grpc.Client; port: number }> {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1'] });
  const bytes = new Uint8Array(CHUNKS * SNAPSHOT_CHUNK_BYTES).fill(0x20);
  const handler = snapshotSaveHandler(
    { id: 'c1', clusterName: 'x', version: '0', host: port, stateMachine: { startSnapshot: () => ({ index: 9, revision: 4, step: () => true, bytes: () => bytes }) }, defaultTimeoutMs: 5000 },
    limits,
  );
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined }), oneMessageRequests] });
  server.addService({ SnapshotSave: METHOD } as grpc.ServiceDefinition, { SnapshotSave: handler as grpc.UntypedHandleCall });
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const client = new grpc.Client(`127.0.0.1:${bound}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  return { client, port: bound };
}

/** What a save read by a plain HTTP/2 client brought: the messages, its gRPC status and message (null: none came), and how long it took. */
interface SlowSave {
  readonly seen: Seen[];
  readonly code: number | null;
  readonly details: string;
  readonly ms: number;
}

/** A save whose stream is read every `everyMs`, all it holds then (one flow-control window at most). */
function slowSave(t: Test, port: number, everyMs: number): Promise<SlowSave> {
  const started = Date.now();
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  const stream = session.request({ ':method': 'POST', ':path': METHOD.path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(Buffer.alloc(5)); // one empty message
  stream.pause();
  const seen: Seen[] = [];
  let code: number | null = null;
  let details = '';
  const status = (h: http2.IncomingHttpHeaders): void => {
    if (h['grpc-status'] === undefined) return;
    code = Number(h['grpc-status']);
    details = decodeURIComponent(String(h['grpc-message'] ?? ''));
  };
  stream.on('response', status); // a status with no message before it comes as the response's headers
  stream.on('trailers', status);
  stream.on('error', () => undefined);
  let pending = Buffer.alloc(0);
  const reader = setInterval(() => {
    const got = stream.read() as Buffer | null;
    if (got === null) return;
    pending = Buffer.concat([pending, got]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const length = pending.readUInt32BE(1);
      seen.push(decode(pending.subarray(5, 5 + length)));
      pending = pending.subarray(5 + length);
    }
  }, everyMs);
  return new Promise((resolve) =>
    stream.once('close', () => {
      clearInterval(reader);
      session.close();
      resolve({ seen, code, details, ms: Date.now() - started });
    }),
  );
}

/** A save read by a grpc-js client as fast as its messages come: what arrived, and how it ended. */
function save(client: grpc.Client): Promise<{ seen: Seen[]; error: grpc.ServiceError | null }> {
  const call = client.makeServerStreamRequest(METHOD.path, (b: Buffer) => b, decode, Buffer.alloc(0), { deadline: Date.now() + 60_000 });
  const seen: Seen[] = [];
  return new Promise((resolve) => {
    call.on('data', (m: Seen) => seen.push(m));
    call.on('error', (error: grpc.ServiceError) => resolve({ seen, error }));
    call.on('end', () => resolve({ seen, error: null }));
  });
}

void t.test('a save read slowly (every 20 ms, at most a flow-control window) is ended at its allowance with a status; the next is served whole', async (t) => {
  // 256 chunks at 20 ms a read take 5 s, past the 500 ms the first save is allowed; reads never
  // stall 10 s. The next save, read at once, is allowed 30 s (16 MiB on a loaded host).
  const allowances = [500, 30_000];
  const { client, port } = await serve(t, { stallMs: 10_000, allowanceMs: () => allowances.shift() ?? 30_000, statusGraceMs: 20_000 });
  const slow = await slowSave(t, port, 20);
  t.equal(slow.code, grpc.status.DEADLINE_EXCEEDED);
  t.match(slow.details, /^c1 ended the snapshot save after 0\.\d s: a 16777216-byte snapshot is allowed 0\.5 s/);
  const chunks = slow.seen.filter((m) => m.kind === 'data').length;
  // Ended before a whole read, whatever the pace (a loaded host's 20 ms reads come later): by count, not time.
  t.ok(chunks < CHUNKS, `${chunks} of ${CHUNKS} chunks arrived, in ${slow.ms} ms`);
  t.notOk(slow.seen.some((m) => m.kind === 'trailer'), 'no trailer');

  const next = await save(client);
  t.equal(next.error, null, 'the next save is served');
  t.equal(next.seen.filter((m) => m.kind === 'data').length, CHUNKS);
  t.equal(next.seen.at(-1)?.kind, 'trailer', 'whole, with its trailer');
});
