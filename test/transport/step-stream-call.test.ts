/**
 * A link's StepStream call (step-stream-call.ts): once the peer's headers came, acks are read
 * and batches written below grpc-js's per-message layers. Each exchange here runs twice, through
 * the StepStreamCall and through a plain grpc-js call against the same kind of peer, and the
 * two must end alike: the acks, then the same status and details, for an ack that does not
 * decode, a compressed one, a batch past the send limit, a reset stream and a status.
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import t from 'tap';
import type { Message } from '../../src/raft/messages.js';
import type { OutgoingBatch } from '../../src/transport/batch-codec.js';
import { stepMethod } from '../../src/transport/peer-methods.js';
import { StepStreamCall, type StepStreamCounts } from '../../src/transport/step-stream-call.js';
import { waitFor } from '../helpers/wait-for.js';
import { bind } from './harness.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];
type Raw = Record<string, unknown>;

const envelope = { clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' };
const heartbeat = (commit: number, context = ''): Message => ({ type: 'Heartbeat', from: 'n1', to: 'n2', term: 1, commit, context });
const batch = (commit: number, context = ''): OutgoingBatch => ({ cluster: 'test', from: 'n1', to: 'n2', messages: [heartbeat(commit, context)], ...envelope, replies: true });
/** The bytes of an ack that does not decode as a StepAck (field 1, a length past the end). */
const BROKEN = Buffer.from([0x0a, 0x05, 0x01]);

/** What the peer does on its nth batch (0-based): ack it, ack it with broken bytes, reset the stream, or end with a status. */
type Move = 'ack' | 'broken' | 'reset' | 'status';

/** A peer serving StepStream that plays `moves` in turn (and acks every batch past them). */
async function peer(t: Test, moves: readonly Move[], serverOptions: grpc.ServerOptions = {}): Promise<string> {
  const server = new grpc.Server(serverOptions);
  const m = stepMethod('StepStream');
  const definition = { StepStream: { ...m, responseSerialize: (a: unknown) => (a === 'broken' ? BROKEN : m.responseSerialize(a)) } } as grpc.ServiceDefinition;
  server.addService(definition, {
    StepStream: (call: grpc.ServerDuplexStream<Raw, unknown>) => {
      let n = 0;
      call.on('data', () => {
        const move = moves[n++] ?? 'ack';
        if (move === 'ack') call.write({});
        else if (move === 'broken') call.write('broken');
        else if (move === 'reset') http2StreamBelow(call).close(2); // NGHTTP2_INTERNAL_ERROR
        else call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'no more, said the peer' });
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await bind(server, grpc.ServerCredentials.createInsecure());
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

/** The HTTP/2 stream under a grpc-js server call (the base call's \`stream\`, below its interceptors' calls). */
function http2StreamBelow(call: object): { close(code: number): void } {
  let layer: Record<string, unknown> = call as Record<string, unknown>;
  for (let i = 0; i < 6; i++) {
    const stream = layer['stream'] as { close?: unknown } | undefined;
    if (typeof stream?.close === 'function') return stream as { close(code: number): void };
    layer = (layer['call'] ?? layer['nextCall']) as Record<string, unknown>;
  }
  throw new Error('no HTTP/2 stream below the call');
}

interface Outcome {
  readonly acks: number;
  readonly code: number | null;
  readonly details: string | null;
}

/**
 * Writes `batches` one at a time, each once the one before was acked (the last one also when the
 * stream failed), and reports the acks and how the call ended. `via`: a StepStreamCall, or a plain
 * grpc-js call with the same codec.
 */
async function run(t: Test, via: 'link' | 'grpc', address: string, batches: readonly OutgoingBatch[], maxSendBytes = -1): Promise<{ outcome: Outcome; counts: StepStreamCounts }> {
  const options = maxSendBytes === -1 ? {} : { 'grpc.max_send_message_length': maxSendBytes };
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  t.teardown(() => client.close());
  const counts: StepStreamCounts = { acksReadByGrpc: 0, batchesWrittenByGrpc: 0 };
  return new Promise((resolve) => {
    let acks = 0;
    let next = 0;
    let ended = false;
    let cancel: () => void;
    const done = (code: number | null, details: string | null): void => {
      if (ended) return;
      ended = true;
      resolve({ outcome: { acks, code, details }, counts });
      cancel();
    };
    let write: (b: OutgoingBatch) => void;
    const onAck = (): void => {
      acks += 1;
      if (next < batches.length) write(batches[next++]!);
      else done(null, null);
    };
    const onError = (err: grpc.ServiceError): void => done(err.code, err.details);
    const onEnd = (): void => done(null, null);
    if (via === 'link') {
      const call = new StepStreamCall(client, maxSendBytes, counts, { onAck, onError, onEnd });
      write = (b) => call.write(b);
      cancel = () => call.cancel();
    } else {
      const m = stepMethod('StepStream');
      const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
      call.on('data', onAck);
      call.on('error', onError);
      call.on('end', onEnd);
      write = (b) => call.write(b);
      cancel = () => call.cancel();
    }
    write(batches[next++]!);
    // A bound on a run that goes wrong, not a wait: every run here ends in milliseconds.
    setTimeout(() => done(-1, 'no outcome within 10 s'), 10_000).unref();
  });
}

const tenBatches = Array.from({ length: 10 }, (_, i) => batch(i));

void t.test('acks read and batches written below grpc-js once the headers came: only the first batch goes through it', async (t) => {
  const address = await peer(t, []);
  const { outcome, counts } = await run(t, 'link', address, tenBatches);
  t.strictSame(outcome, { acks: 10, code: null, details: null }, 'every batch acked');
  t.strictSame(counts, { acksReadByGrpc: 0, batchesWrittenByGrpc: 1 }, 'one batch before the headers, then none through grpc-js');
});

void t.test('how a stream ends after acks read below grpc-js: as a plain grpc-js call ends', async (t) => {
  const cases: readonly { what: string; moves: readonly Move[]; code: grpc.status }[] = [
    { what: 'an ack that does not decode', moves: ['ack', 'ack', 'ack', 'broken'], code: grpc.status.INTERNAL },
    { what: 'a reset stream', moves: ['ack', 'ack', 'ack', 'reset'], code: grpc.status.INTERNAL },
    { what: "the peer's status", moves: ['ack', 'ack', 'ack', 'status'], code: grpc.status.FAILED_PRECONDITION },
  ];
  for (const c of cases) {
    const address = await peer(t, c.moves);
    const link = await run(t, 'link', address, tenBatches);
    const plain = await run(t, 'grpc', address, tenBatches);
    t.equal(link.outcome.acks, 3, `${c.what}: the three acks before it`);
    t.equal(link.outcome.code, c.code, `${c.what}: ${grpc.status[c.code]}`);
    t.strictSame(link.outcome, plain.outcome, `${c.what}: as through grpc-js (${link.outcome.details})`);
    t.equal(link.counts.acksReadByGrpc, 0, `${c.what}: the acks before it read below grpc-js`);
  }
});

/**
 * A peer on bare HTTP/2 that answers each batch (one per DATA chunk here) with `ack` behind the
 * response headers `headers`: the acks grpc-js's decoder must judge.
 */
async function rawAckPeer(t: Test, headers: http2.OutgoingHttpHeaders, ack: Buffer): Promise<string> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...headers });
    stream.on('data', () => stream.write(ack));
    stream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A peer that answers each batch with a gzip-compressed empty ack. */
async function gzipPeer(t: Test): Promise<string> {
  const body = zlib.gzipSync(Buffer.alloc(0));
  return rawAckPeer(t, { 'grpc-encoding': 'gzip' }, Buffer.concat([Buffer.from([1, 0, 0, 0, body.byteLength]), body]));
}

void t.test('a compressed ack is read through grpc-js, which decompresses it; the stream goes on', async (t) => {
  const address = await gzipPeer(t);
  const link = await run(t, 'link', address, tenBatches);
  const plain = await run(t, 'grpc', address, tenBatches);
  t.strictSame(link.outcome, { acks: 10, code: null, details: null }, 'every batch acked');
  t.strictSame(link.outcome, plain.outcome, 'as through grpc-js');
  t.equal(link.counts.acksReadByGrpc, 10, 'each ack handed to grpc-js');
});

void t.test('a batch past the send limit, once writes go below grpc-js, is refused as grpc-js refuses it', async (t) => {
  const big = batch(99, 'x'.repeat(2000));
  const batches = [...tenBatches.slice(0, 4), big, ...tenBatches.slice(4)];
  const address = await peer(t, []);
  const link = await run(t, 'link', address, batches, 1000);
  const plain = await run(t, 'grpc', address, batches, 1000);
  t.strictSame(link.outcome, { acks: 4, code: grpc.status.RESOURCE_EXHAUSTED, details: 'Attempted to send message with a size larger than 1000' }, 'refused, after four acks');
  t.strictSame(link.outcome, plain.outcome, 'as through grpc-js');
  t.equal(link.counts.batchesWrittenByGrpc, 2, 'the first batch and the refused one through grpc-js');
});

/**
 * A peer that sends its headers at once but reads no batch until `read` is called, then records
 * the commit of each batch it reads, in order: its flow-control window fills, so a first batch
 * larger than the window stays half-written below grpc-js while the headers come.
 */
async function slowReadingPeer(t: Test): Promise<{ address: string; read: () => void; order: number[] }> {
  const server = new grpc.Server();
  const m = stepMethod('StepStream');
  const order: number[] = [];
  let read: () => void = () => undefined;
  server.addService({ StepStream: m } as grpc.ServiceDefinition, {
    StepStream: (call: grpc.ServerDuplexStream<{ messages: { commit: number }[] }, unknown>) => {
      call.sendMetadata(new grpc.Metadata());
      read = () =>
        call.on('data', (b) => {
          order.push(b.messages[0]!.commit);
          call.write({});
        });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await bind(server, grpc.ServerCredentials.createInsecure());
  t.teardown(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, read: () => read(), order };
}

void t.test('a batch written once the headers came does not overtake one grpc-js still holds (its retry buffer answered the write early)', async (t) => {
  const peerAt = await slowReadingPeer(t);
  const client = new grpc.Client(peerAt.address, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const counts: StepStreamCounts = { acksReadByGrpc: 0, batchesWrittenByGrpc: 0 };
  let acks = 0;
  const call = new StepStreamCall(client, -1, counts, { onAck: () => (acks += 1), onError: () => undefined, onEnd: () => undefined });
  t.teardown(() => call.cancel());
  const headers = new Promise<void>((resolve) => (call as unknown as { call: grpc.ClientDuplexStream<unknown, unknown> }).call.once('metadata', () => setImmediate(resolve)));
  // Past the peer's 64 KiB stream window, under grpc-js's 256 KiB retry buffer.
  call.write(batch(1, 'x'.repeat(150_000)));
  call.write(batch(2));
  await headers;
  call.write(batch(3));
  peerAt.read();
  await waitFor(() => acks === 3, 'three acks');
  t.strictSame(peerAt.order, [1, 2, 3], 'the peer read the batches in the order they were written');
});

/** A peer that marks each ack compressed without naming an encoding: its bytes (none) would decode as an ack. */
async function unnamedEncodingPeer(t: Test): Promise<string> {
  return rawAckPeer(t, {}, Buffer.from([1, 0, 0, 0, 0]));
}

void t.test('an ack marked compressed is grpc-js to judge even when its bytes would decode', async (t) => {
  const address = await unnamedEncodingPeer(t);
  const link = await run(t, 'link', address, tenBatches);
  const plain = await run(t, 'grpc', address, tenBatches);
  t.equal(plain.outcome.acks, 0, `grpc-js refuses it (${JSON.stringify(plain.outcome)})`);
  t.strictSame(link.outcome, plain.outcome, 'as through grpc-js');
});
