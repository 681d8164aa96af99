/**
 * The whole-save allowance of SnapshotSave on a real grpc-js server and client: a client that
 * reads a message every 20 ms (never near the stall limit) hears the allowance's status, short
 * of the trailer, and the next save is served whole (attack-33 G9: one chunk a minute held the
 * controller's only save slot for hours).
 */
import * as grpc from '@grpc/grpc-js';
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

async function serve(t: Test, limits: SnapshotSaveLimits): Promise<grpc.Client> {
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
  return client;
}

/** A save read one message every `everyMs` (null: as fast as they come): what arrived, and how it ended. */
function save(client: grpc.Client, everyMs: number | null): Promise<{ seen: Seen[]; error: grpc.ServiceError | null; ms: number }> {
  const started = Date.now();
  const call = client.makeServerStreamRequest(METHOD.path, (b: Buffer) => b, decode, Buffer.alloc(0), { deadline: Date.now() + 60_000 });
  const seen: Seen[] = [];
  return new Promise((resolve) => {
    const done = (error: grpc.ServiceError | null): void => {
      clearInterval(reader);
      resolve({ seen, error, ms: Date.now() - started });
    };
    call.on('error', (err: grpc.ServiceError) => done(err));
    call.on('end', () => done(null));
    if (everyMs === null) call.on('data', (m: Seen) => seen.push(m));
    else call.pause();
    const reader =
      everyMs === null
        ? undefined
        : setInterval(() => {
            const m = call.read() as Seen | null;
            if (m !== null) seen.push(m);
          }, everyMs);
  });
}

void t.test('a save read a message every 20 ms is ended at its allowance with a status; the next is served whole', async (t) => {
  // 256 chunks at 20 ms a read take 5 s, past the 500 ms the first save is allowed; reads never
  // stall 10 s. The next save, read at once, is allowed 30 s (16 MiB on a loaded host).
  const allowances = [500, 30_000];
  const client = await serve(t, { stallMs: 10_000, allowanceMs: () => allowances.shift() ?? 30_000, statusGraceMs: 20_000 });
  const slow = await save(client, 20);
  t.match(slow.error, { code: grpc.status.DEADLINE_EXCEEDED, details: /^c1 ended the snapshot save after 0\.\d s: a 16777216-byte snapshot is allowed 0\.5 s/ });
  const chunks = slow.seen.filter((m) => m.kind === 'data').length;
  // Ended before a whole read, whatever the pace (a loaded host's 20 ms reads come later): by count, not time.
  t.ok(chunks < CHUNKS, `${chunks} of ${CHUNKS} chunks arrived, in ${slow.ms} ms`);
  t.notOk(slow.seen.some((m) => m.kind === 'trailer'), 'no trailer');

  const next = await save(client, null);
  t.equal(next.error, null, 'the next save is served');
  t.equal(next.seen.filter((m) => m.kind === 'data').length, CHUNKS);
  t.equal(next.seen.at(-1)?.kind, 'trailer', 'whole, with its trailer');
});
