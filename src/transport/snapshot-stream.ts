/**
 * InstallSnapshot over a client stream: the sender cuts the snapshot data into chunks, the
 * first one carrying the envelope (the message without data) and the total size; the receiver
 * checks the envelope before accepting any data, bounds the total, and reassembles.
 */
import * as grpc from '@grpc/grpc-js';
import type { InstallSnapshot, Message } from '../raft/messages.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { ProtocolError, TransportError } from './errors.js';
import { describeValue, isRecord, raftPeerMethod, type Raw, type WireChunk, type WireIdentity } from './wire.js';

export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** Chunks stay well under the gRPC message limit, whatever it is configured to. */
export function chunkBytesFor(maxMessageBytes: number): number {
  return Math.max(1, Math.min(SNAPSHOT_CHUNK_BYTES, Math.floor(maxMessageBytes / 2)));
}

export interface SnapshotSend {
  cancel(): void;
}

/** Streams `m` to the peer behind `client`; `done` gets null on success, else the error. */
export function streamSnapshot(
  client: grpc.Client,
  m: InstallSnapshot,
  cluster: string,
  identity: WireIdentity,
  chunkBytes: number,
  done: (err: grpc.ServiceError | null) => void,
): SnapshotSend {
  const method = raftPeerMethod('InstallSnapshot');
  const call = client.makeClientStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new grpc.Metadata(),
    {},
    (err) => done(err ?? null),
  );
  const data = m.snapshot.data;
  let offset = 0;
  let first = true;
  // Writes respect backpressure: a multi-MiB snapshot is never buffered whole in http2.
  const pump = (): void => {
    while (first || offset < data.byteLength) {
      const end = Math.min(offset + chunkBytes, data.byteLength);
      const slice = data.subarray(offset, end);
      const chunk: WireChunk = first
        ? { cluster, envelope: encodeMessage(m), totalSize: data.byteLength, data: slice, ...identity }
        : { data: slice };
      first = false;
      offset = end;
      if (!call.write(chunk)) {
        call.once('drain', pump);
        return;
      }
    }
    call.end();
  };
  pump();
  return { cancel: () => call.cancel() };
}

function refuse(code: grpc.status, details: string): TransportError {
  return new TransportError('REFUSED', details, code);
}

/**
 * Receiver side. `checkEnvelope` gets the first chunk (with the sender's identity fields) and
 * the decoded message; it decides whether the sender may talk to us at all and throws when not.
 */
export class SnapshotAssembler {
  private message: InstallSnapshot | null = null;
  private total = 0;
  private received = 0;
  private readonly parts: Uint8Array[] = [];

  constructor(
    private readonly maxSnapshotBytes: number,
    private readonly checkEnvelope: (first: Raw, m: Message) => void,
  ) {}

  /** The sender, once the first chunk has been accepted. */
  get from(): string | null {
    return this.message?.from ?? null;
  }

  add(raw: unknown): void {
    if (!isRecord(raw)) throw refuse(grpc.status.INVALID_ARGUMENT, `snapshot chunk: expected an object, found ${describeValue(raw)}`);
    const data = raw['data'];
    if (!(data instanceof Uint8Array)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `snapshot chunk data: expected bytes, found ${describeValue(data)}`);
    }
    if (this.message === null) this.start(raw);
    if (this.received + data.byteLength > this.total) {
      throw refuse(
        grpc.status.INVALID_ARGUMENT,
        `snapshot chunks: expected ${this.total} bytes in all as announced, found more (${this.received + data.byteLength})`,
      );
    }
    this.parts.push(data);
    this.received += data.byteLength;
  }

  private start(raw: Readonly<Record<string, unknown>>): void {
    let m: Message;
    try {
      m = decodeMessage(raw['envelope']);
    } catch (err) {
      if (err instanceof ProtocolError) throw refuse(grpc.status.INVALID_ARGUMENT, `snapshot envelope: ${err.message}`);
      throw err;
    }
    this.checkEnvelope(raw, m);
    if (m.type !== 'InstallSnapshot') {
      throw refuse(grpc.status.INVALID_ARGUMENT, `snapshot envelope: expected type INSTALL_SNAPSHOT, found ${m.type}`);
    }
    const total = raw['totalSize'];
    if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `snapshot totalSize: expected a non-negative integer, found ${describeValue(total)}`);
    }
    if (total > this.maxSnapshotBytes) {
      throw refuse(
        grpc.status.RESOURCE_EXHAUSTED,
        `snapshot totalSize: expected at most ${this.maxSnapshotBytes} bytes (the configured maximum), found ${total}`,
      );
    }
    this.message = m;
    this.total = total;
  }

  /** The reassembled message, once the stream has ended. */
  finish(): InstallSnapshot {
    if (this.message === null) throw refuse(grpc.status.INVALID_ARGUMENT, 'snapshot stream: expected at least one chunk, found none');
    if (this.received !== this.total) {
      throw refuse(
        grpc.status.INVALID_ARGUMENT,
        `snapshot stream: expected ${this.total} bytes as announced, found ${this.received} when the stream ended`,
      );
    }
    const data = new Uint8Array(this.total);
    let at = 0;
    for (const part of this.parts) {
      data.set(part, at);
      at += part.byteLength;
    }
    this.parts.length = 0;
    return { ...this.message, snapshot: { meta: this.message.snapshot.meta, data } };
  }
}
